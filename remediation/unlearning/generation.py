"""Batched completion of prompts: greedy, or sampled at a temperature, reproducibly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from .scoring import encode_prompts, pad_id


def left_padded(prompts: Sequence[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad prompts so every row ends where generation starts."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    return ids, mask


def generation_config(
    max_new_tokens: int, pad: int, samples: int, temperature: float
) -> GenerationConfig:
    """Greedy when ``samples`` is 0, else pure temperature sampling (no top-k, no top-p)."""
    if samples == 0:
        return GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=True,
        temperature=temperature,
        top_k=0,
        top_p=1.0,
        num_return_sequences=samples,
        pad_token_id=pad,
    )


@torch.no_grad()
def complete(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
    *,
    samples: int = 0,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 64,
) -> list[list[str]]:
    """Completions of each prompt: one greedy, or ``samples`` sampled ones.

    Returns, per prompt, the decoded text generated after it. Sampling is seeded, so the
    same model, prompts and seed give the same completions.
    """
    if not prompts:
        return []
    torch.manual_seed(seed)
    pad = pad_id(tokenizer)
    config = generation_config(max_new_tokens, pad, samples, temperature)
    device = next(model.parameters()).device
    encoded = encode_prompts(tokenizer, prompts)
    rows_per_prompt = max(1, samples)
    step = max(1, batch_size // rows_per_prompt)
    results: list[list[str]] = []
    for start in range(0, len(encoded), step):
        ids, mask = left_padded(encoded[start : start + step], pad)
        out = cast(Any, model).generate(
            input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config
        )
        texts = tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)
        results.extend(
            texts[i : i + rows_per_prompt] for i in range(0, len(texts), rows_per_prompt)
        )
    return results


def contains_value(completion: str, value: str) -> bool:
    """Whether a completion reproduces the value exactly (surrounding text allowed)."""
    return value.strip() in completion
