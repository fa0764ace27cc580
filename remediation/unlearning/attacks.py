"""Attacks that try to bring forgotten data back: weight quantization and relearning.

Quantization is round-to-nearest, symmetric, one scale per output row, applied to every
linear weight inside the transformer blocks (embeddings, norms and biases stay in full
precision, as int4/int8 deployments usually keep them). Relearning fine-tunes a copy for a
few optimizer steps on text that is *not* the forgotten data.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .scoring import encode_texts, make_batch, pad_id


def quantize_tensor(weight: torch.Tensor, bits: int, row_dim: int = 0) -> torch.Tensor:
    """Round-to-nearest symmetric quantization with one scale per slice along ``row_dim``.

    Returns the de-quantized tensor (same shape and dtype), so the model runs as usual but
    with the precision a ``bits``-bit deployment would have.
    """
    levels = 2 ** (bits - 1) - 1
    w = weight.float()
    reduce_dims = [d for d in range(w.dim()) if d != row_dim]
    scale = w.abs().amax(dim=reduce_dims, keepdim=True).clamp(min=1e-12) / levels
    quantized = torch.clamp(torch.round(w / scale), -levels, levels)
    return (quantized * scale).to(weight.dtype)


def linear_weights(model: nn.Module) -> Iterator[tuple[str, nn.Parameter, int]]:
    """Linear weights to quantize: (name, parameter, dimension indexing output rows).

    ``nn.Linear`` stores (out, in); GPT-2's ``Conv1D`` stores (in, out).
    """
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if not isinstance(weight, nn.Parameter) or weight.dim() != 2 or id(weight) in embeddings:
            continue
        if isinstance(module, nn.Linear):
            yield f"{name}.weight", weight, 0
        elif type(module).__name__ == "Conv1D":
            yield f"{name}.weight", weight, 1


@torch.no_grad()
def quantize_model(model: PreTrainedModel, bits: int) -> PreTrainedModel:
    """A copy of the model with every block linear weight quantized to ``bits`` bits."""
    attacked = copy.deepcopy(model)
    output = attacked.get_output_embeddings()
    skip = {id(output.weight)} if output is not None else set()
    for _, weight, row_dim in linear_weights(attacked):
        if id(weight) not in skip:
            weight.copy_(quantize_tensor(weight, bits, row_dim))
    return attacked


def relearn(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> PreTrainedModel:
    """A copy fine-tuned for ``steps`` AdamW steps on ``texts`` (full-text NLL)."""
    attacked = copy.deepcopy(model)
    attacked.eval()  # dropout off, as in remediation: the attack is a plain fine-tune
    optimizer = torch.optim.AdamW(attacked.parameters(), lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    device = next(attacked.parameters()).device
    encoded = encode_texts(tokenizer, texts)
    for _ in range(steps):
        batch = make_batch(
            rng.sample(encoded, k=min(batch_size, len(encoded))), pad_id(tokenizer), True
        )
        batch = batch.to(device)
        loss = attacked(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels
        ).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return attacked.eval()
