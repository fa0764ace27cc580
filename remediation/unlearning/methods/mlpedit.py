"""Closed-form edits of an MLP output projection, protected by retained text (MEMIT-style).

An MLP's output projection maps keys k (its input at one position) to values W·k added to
the residual stream. To change what the model says at some positions, find the residual
change r each of those positions needs, then the smallest weight change that adds r for
their keys while leaving the keys of retained text alone:

    ΔM = (K_fᵀ K_f + λ·C)⁻¹ K_fᵀ R,    C = K_rᵀ K_r / n_r

(rows of K_f: forget keys, of R: wanted changes, of K_r: retained keys). Directions that
retained text uses a lot are expensive, so the edit lands where only the forget items live.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import EngineError
from ..scoring import Batch, Pair, chunks, make_batch

_OUT_PROJ = re.compile(
    r"\.(?:h|layers|layer|blocks)\.(\d+)\.mlp\.(?:c_proj|down_proj|fc_out|dense_4h_to_h|fc2)$"
)


@dataclass
class OutProjection:
    """The output projection of one block's MLP."""

    layer: int
    name: str
    module: nn.Module

    @property
    def transposed(self) -> bool:
        """GPT-2's Conv1D stores (in, out); nn.Linear stores (out, in)."""
        return not isinstance(self.module, nn.Linear)

    @property
    def out_features(self) -> int:
        """Width of the projection's output (the residual stream)."""
        weight = self.module.weight
        assert isinstance(weight, torch.Tensor)
        return int(weight.shape[1] if self.transposed else weight.shape[0])

    def add(self, delta_in_out: torch.Tensor) -> None:
        """Add a change given as an (in, out) matrix to the weight."""
        weight = self.module.weight
        assert isinstance(weight, torch.Tensor)
        change = delta_in_out if self.transposed else delta_in_out.T
        with torch.no_grad():
            weight.add_(change.to(weight.dtype))


def out_projections(model: nn.Module) -> list[OutProjection]:
    """Every block's MLP output projection, in layer order."""
    found = []
    for name, module in model.named_modules():
        match = _OUT_PROJ.search(name)
        if match and isinstance(getattr(module, "weight", None), torch.Tensor):
            found.append(OutProjection(int(match.group(1)), name, module))
    return sorted(found, key=lambda p: p.layer)


_FINAL_NORMS = (
    "transformer.ln_f",
    "model.norm",
    "gpt_neox.final_layer_norm",
    "model.final_layernorm",
)


def final_norm(model: nn.Module) -> nn.Module | None:
    """The norm applied to the residual stream before the LM head, if it can be found."""
    modules = dict(model.named_modules())
    return next((modules[name] for name in _FINAL_NORMS if name in modules), None)


def predicting_positions(batch: Batch) -> torch.Tensor:
    """Mask of the positions whose output predicts a labelled token."""
    keep = torch.zeros_like(batch.labels, dtype=torch.bool)
    keep[:, :-1] = batch.labels[:, 1:] != -100
    return keep


def capture_keys(proj: OutProjection, store: list[torch.Tensor]) -> Any:
    """Append the projection's input (its keys) of every forward pass to ``store``."""
    return capture_input(proj.module, store)


@contextmanager
def capture_input(module: nn.Module, store: list[torch.Tensor]) -> Iterator[None]:
    """Append a module's first input of every forward pass to ``store``."""

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        store.append(inputs[0].detach().float())

    handle = module.register_forward_pre_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def add_to_output(
    proj: OutProjection, delta: Callable[[torch.Tensor], torch.Tensor]
) -> Iterator[None]:
    """Replace the projection's output y by ``delta(y)`` during forward passes."""

    def hook(
        _module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor
    ) -> torch.Tensor:
        return delta(output)

    handle = proj.module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@torch.no_grad()
def key_covariance(
    model: nn.Module,
    proj: OutProjection,
    pairs: Sequence[Pair],
    pad: int,
    device: torch.device,
    values_only: bool = False,
) -> torch.Tensor:
    """Second moment E[k kᵀ] of the projection's keys over ``pairs``.

    Every token of the texts, or with ``values_only`` only the positions that predict a
    value (where a retained fact is recalled).
    """
    total: torch.Tensor | None = None
    count = 0
    for chunk in chunks(pairs, 32):
        batch = make_batch(chunk, pad, label_prompt=not values_only).to(device)
        store: list[torch.Tensor] = []
        with capture_keys(proj, store):
            model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        where = predicting_positions(batch) if values_only else batch.attention_mask.bool()
        keys = store[0][where]
        total = keys.T @ keys if total is None else total + keys.T @ keys
        count += keys.shape[0]
    if total is None:
        raise EngineError("rewrite needs retained text to protect")
    return total / max(count, 1)


def solve_edit(
    keys: torch.Tensor, wanted: torch.Tensor, covariance: torch.Tensor, weight: float
) -> torch.Tensor:
    """ΔM (in, out) minimising ‖K ΔM − R‖² + weight·tr(ΔMᵀ C ΔM)."""
    system = keys.T @ keys + weight * covariance
    system = (
        system + 1e-6 * torch.eye(system.shape[0], device=system.device) * system.diagonal().mean()
    )
    return torch.linalg.solve(system, keys.T @ wanted)
