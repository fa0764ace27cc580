"""Isolate: where does an item live? Saliency of the forget loss against the retain loss.

For every weight, the forget gradient's magnitude is set against the retain gradient's:
a weight that moves the forget items' values a lot and the retained data little is
*forget-specific*. The most specific weights form the mask the default method updates;
per-tensor and per-layer sums give the chart a report shows.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .attacks import linear_weights
from .errors import SettingsError
from .items import ForgetItem
from .modelio import LoadedModel
from .progress import CancelCheck, ProgressFn, check_cancel, emit
from .scoring import Batch, Pair, chunks, encode_texts, item_pairs, make_batch, pad_id

SCOPES = ("mlp", "linear", "all")
_LAYER = re.compile(r"\.(?:h|layers|layer|blocks|block)\.(\d+)\.")
_MLP = re.compile(r"mlp|ffn|feed_forward|fc")


@dataclass
class TensorSaliency:
    """Saliency of one parameter tensor."""

    name: str
    layer: int | None
    numel: int
    forget_grad: float
    retain_grad: float
    masked: int

    @property
    def specificity(self) -> float:
        """Forget gradient norm over retain gradient norm (above 1: forget-specific)."""
        return self.forget_grad / max(self.retain_grad, 1e-12)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "layer": self.layer,
            "numel": self.numel,
            "forget_grad": self.forget_grad,
            "retain_grad": self.retain_grad,
            "specificity": self.specificity,
            "masked": self.masked,
        }


@dataclass
class IsolationResult:
    """Per-tensor and per-layer saliency, and the mask of the most forget-specific weights."""

    tensors: list[TensorSaliency]
    scope: str
    fraction: float
    mask: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    def per_layer(self) -> list[dict[str, Any]]:
        """Sums per transformer block (``layer`` None: embeddings, final norm, head)."""
        layers: dict[int | None, dict[str, Any]] = {}
        for tensor in self.tensors:
            row = layers.setdefault(
                tensor.layer,
                {
                    "layer": tensor.layer,
                    "forget_grad": 0.0,
                    "retain_grad": 0.0,
                    "masked": 0,
                    "numel": 0,
                },
            )
            row["forget_grad"] += tensor.forget_grad**2
            row["retain_grad"] += tensor.retain_grad**2
            row["masked"] += tensor.masked
            row["numel"] += tensor.numel
        return [
            _finish_layer(row)
            for _, row in sorted(layers.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the chart data, without the mask tensors."""
        return {
            "scope": self.scope,
            "fraction": self.fraction,
            "masked": sum(t.masked for t in self.tensors),
            "layers": self.per_layer(),
            "tensors": [t.to_dict() for t in self.tensors],
        }


def _finish_layer(row: dict[str, Any]) -> dict[str, Any]:
    row["forget_grad"] = row["forget_grad"] ** 0.5
    row["retain_grad"] = row["retain_grad"] ** 0.5
    row["specificity"] = row["forget_grad"] / max(row["retain_grad"], 1e-12)
    return row


def layer_of(name: str) -> int | None:
    """The transformer block a parameter belongs to, from its name."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def scoped_parameters(model: nn.Module, scope: str) -> dict[str, nn.Parameter]:
    """The parameters a mask may cover: MLP weights, all block linear weights, or all."""
    if scope not in SCOPES:
        raise SettingsError(f"unknown saliency scope {scope!r}; use one of {SCOPES}")
    if scope == "all":
        return {name: p for name, p in model.named_parameters() if p.requires_grad}
    linear = {name: p for name, p, _ in linear_weights(model)}
    if scope == "linear":
        return linear
    return {name: p for name, p in linear.items() if _MLP.search(name)}


def isolate(
    loaded: LoadedModel,
    forget_items: Sequence[ForgetItem],
    retain_texts: Sequence[str],
    *,
    scope: str = "mlp",
    fraction: float = 0.05,
    max_retain: int = 256,
    seed: int = 0,
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
) -> IsolationResult:
    """Saliency of the forget loss (value tokens) against the retain loss (whole texts).

    The mask keeps the ``fraction`` of weights in ``scope`` with the highest ratio
    |g_forget| / (|g_retain| + median |g_retain|); the median keeps weights that no loss
    touches from looking specific.
    """
    if not 0 < fraction <= 1:
        raise SettingsError("saliency fraction must be in (0, 1]")
    params = scoped_parameters(loaded.model, scope)
    tokenizer, pad = loaded.tokenizer, pad_id(loaded.tokenizer)
    retain = random.Random(seed).sample(list(retain_texts), k=min(max_retain, len(retain_texts)))
    forget_pairs = item_pairs(tokenizer, forget_items)
    retain_pairs = encode_texts(tokenizer, retain)
    g_forget = _abs_grads(loaded, params, forget_pairs, pad, False, should_cancel)
    emit(progress, "isolate", 1, 2, {})
    g_retain = _abs_grads(loaded, params, retain_pairs, pad, True, should_cancel)
    emit(progress, "isolate", 2, 2, {})
    mask = _top_mask(g_forget, g_retain, fraction)
    tensors = [_tensor_row(n, g_forget[n], g_retain[n], mask[n]) for n in params]
    return IsolationResult(tensors=tensors, scope=scope, fraction=fraction, mask=mask)


def _abs_grads(
    loaded: LoadedModel,
    params: dict[str, nn.Parameter],
    pairs: Sequence[Pair],
    pad: int,
    whole_text: bool,
    should_cancel: CancelCheck | None,
) -> dict[str, torch.Tensor]:
    """|gradient| of the mean evidence margin over ``pairs`` for each parameter.

    Not the NLL's gradient: on memorised text the NLL is near zero and so is its gradient,
    which would make every memorised fact look unimportant. The margin (the correct
    token's logit against the log-sum-exp of the others) does not saturate.
    """
    model = loaded.model
    model.zero_grad(set_to_none=True)
    for chunk in chunks(pairs, 32):
        check_cancel(should_cancel)
        batch = make_batch(chunk, pad, label_prompt=whole_text).to(loaded.device)
        (evidence_margin(model, batch).sum() / len(pairs)).backward()
    grads = {
        n: (
            p.grad.detach().abs().float()
            if p.grad is not None
            else torch.zeros_like(p, dtype=torch.float32)
        )
        for n, p in params.items()
    }
    model.zero_grad(set_to_none=True)
    return grads


def evidence_margin(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Per row, mean over labelled tokens of z_correct − logsumexp(z_others)."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    logits = logits[:, :-1].float()
    labels = batch.labels[:, 1:]
    mask = labels != -100
    index = labels.clamp(min=0).unsqueeze(-1)
    correct = logits.gather(-1, index).squeeze(-1)
    others = logits.scatter(-1, index, float("-inf")).logsumexp(-1)
    margin = (correct - others) * mask
    return margin.sum(-1) / mask.sum(-1).clamp(min=1)


def _top_mask(
    g_forget: dict[str, torch.Tensor], g_retain: dict[str, torch.Tensor], fraction: float
) -> dict[str, torch.Tensor]:
    floor = torch.cat([g.flatten() for g in g_retain.values()]).median().clamp(min=1e-12)
    scores = {n: g_forget[n] / (g_retain[n] + floor) for n in g_forget}
    flat = torch.cat([s.flatten() for s in scores.values()])
    keep = max(1, int(flat.numel() * fraction))
    threshold = torch.topk(flat, keep).values.min()
    return {n: (s >= threshold) & (s > 0) for n, s in scores.items()}


def _tensor_row(
    name: str, g_forget: torch.Tensor, g_retain: torch.Tensor, mask: torch.Tensor
) -> TensorSaliency:
    return TensorSaliency(
        name=name,
        layer=layer_of(name),
        numel=g_forget.numel(),
        forget_grad=float(g_forget.norm()),
        retain_grad=float(g_retain.norm()),
        masked=int(mask.sum()),
    )
