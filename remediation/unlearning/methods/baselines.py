"""The published baselines: GradAscent, GradDiff, NPO, SimNPO and RMU.

Method-specific constants are the published defaults (open-unlearning's TOFU configs; the
RMU paper for RMU); learning rate and epochs are in ``MethodSettings``. Forget losses are
on the value tokens only (labels −100 elsewhere), as evaluation.md asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from ..scoring import Pair, make_batch, token_logprobs
from .base import (
    MethodOutcome,
    MethodSettings,
    RunContext,
    _require,
    epoch_batches,
    frozen_copy,
    nll_of,
    optimise,
    planned_steps,
    sample_batch,
    trainable,
)


class _EpochRunner:
    """Shared shape of the baselines: epochs of forget batches, each with a retain batch."""

    def run_epochs(
        self, ctx: RunContext, settings: MethodSettings, params: list[nn.Parameter]
    ) -> MethodOutcome:
        """``epochs`` shuffled passes over the forget items, a random retain batch per step."""
        forget, retain = ctx.forget_pairs(), ctx.retain_pairs()
        batches = [
            b
            for _ in range(settings.epochs)
            for b in epoch_batches(forget, settings.batch_size, ctx.rng)
        ]
        steps = planned_steps(settings, len(forget))

        def loss_fn(step: int) -> tuple[torch.Tensor, dict[str, float]]:
            retain_batch = (
                sample_batch(retain, settings.retain_batch_size, ctx.rng) if retain else []
            )
            return self.loss(ctx, settings, batches[step - 1], retain_batch)

        return optimise(ctx, params, settings, steps, loss_fn)

    def loss(
        self, ctx: RunContext, settings: Any, forget: list[Pair], retain: list[Pair]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The method's loss on one forget batch and one retain batch."""
        raise NotImplementedError


def _retain_nll(ctx: RunContext, retain: list) -> torch.Tensor:
    return (
        nll_of(ctx, retain, whole_text=True)
        if retain
        else torch.zeros((), device=ctx.loaded.device)
    )


class GradAscent(_EpochRunner):
    """Gradient ascent on the forget items' NLL: the floor every method must beat."""

    name: ClassVar[str] = "grad_ascent"
    summary: ClassVar[str] = "−NLL on the forget values"
    settings_type: ClassVar[type[MethodSettings]] = MethodSettings

    def run(self, ctx: RunContext, settings: MethodSettings) -> MethodOutcome:
        """Ascend the forget NLL for ``epochs`` passes."""
        return self.run_epochs(ctx, settings, trainable(ctx.model))

    def loss(
        self, ctx: RunContext, settings: MethodSettings, forget: list, retain: list
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """−NLL(forget)."""
        nll = nll_of(ctx, forget)
        return -nll, {"forget_nll": float(nll.detach())}


@dataclass(frozen=True)
class GradDiffSettings(MethodSettings):
    """GradDiff: γ weights the forget term, α the retain NLL (published: 1 and 1)."""

    gamma: float = 1.0
    alpha: float = 1.0


class GradDiff(_EpochRunner):
    """Gradient difference: ascend the forget NLL, descend the retain NLL."""

    name: ClassVar[str] = "grad_diff"
    summary: ClassVar[str] = "−γ·NLL(forget) + α·NLL(retain)"
    settings_type: ClassVar[type[MethodSettings]] = GradDiffSettings

    def run(self, ctx: RunContext, settings: GradDiffSettings) -> MethodOutcome:
        """Run ``epochs`` passes of the combined loss."""
        return self.run_epochs(ctx, settings, trainable(ctx.model))

    def loss(
        self, ctx: RunContext, settings: GradDiffSettings, forget: list, retain: list
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """−γ·NLL(forget) + α·NLL(retain)."""
        forget_nll, retain_nll = nll_of(ctx, forget), _retain_nll(ctx, retain)
        loss = -settings.gamma * forget_nll + settings.alpha * retain_nll
        return loss, {
            "forget_nll": float(forget_nll.detach()),
            "retain_nll": float(retain_nll.detach()),
        }


@dataclass(frozen=True)
class NPOSettings(MethodSettings):
    """NPO (Zhang et al. 2024): β = 0.1, forget weight γ = 1, retain NLL weight α = 1."""

    beta: float = 0.1
    gamma: float = 1.0
    alpha: float = 1.0

    def validate(self) -> None:
        """β must be positive."""
        super().validate()
        _require(self.beta > 0, "beta must be positive")


def sequence_logprob(ctx: RunContext, model: PreTrainedModel, pairs: list[Pair]) -> torch.Tensor:
    """Sum of the value tokens' log-probs, per pair."""
    batch = make_batch(pairs, ctx.pad).to(ctx.loaded.device)
    picked, _ = token_logprobs(model, batch)
    return picked.sum(-1)


class NPO(_EpochRunner):
    """Negative preference optimisation against a frozen copy of the starting model."""

    name: ClassVar[str] = "npo"
    summary: ClassVar[str] = "−(2/β)·log σ(−β·(log π − log π_ref)) + α·NLL(retain)"
    settings_type: ClassVar[type[MethodSettings]] = NPOSettings
    reference: PreTrainedModel | None = None

    def run(self, ctx: RunContext, settings: NPOSettings) -> MethodOutcome:
        """Freeze a reference copy, then run ``epochs`` passes."""
        self.reference = frozen_copy(ctx.model)
        try:
            return self.run_epochs(ctx, settings, trainable(ctx.model))
        finally:
            self.reference = None

    def loss(
        self, ctx: RunContext, settings: NPOSettings, forget: list, retain: list
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """NPO forget loss plus the retain NLL."""
        assert self.reference is not None
        with torch.no_grad():
            ref = sequence_logprob(ctx, self.reference, forget)
        ratio = sequence_logprob(ctx, ctx.model, forget) - ref
        forget_loss = -(2 / settings.beta) * F.logsigmoid(-settings.beta * ratio).mean()
        retain_nll = _retain_nll(ctx, retain)
        loss = settings.gamma * forget_loss + settings.alpha * retain_nll
        return loss, {"npo": float(forget_loss.detach()), "retain_nll": float(retain_nll.detach())}


@dataclass(frozen=True)
class SimNPOSettings(MethodSettings):
    """SimNPO (Fan et al. 2024), open-unlearning TOFU defaults: β 4.5, δ 0, γ 0.125, α 1."""

    beta: float = 4.5
    delta: float = 0.0
    gamma: float = 0.125
    alpha: float = 1.0

    def validate(self) -> None:
        """β must be positive."""
        super().validate()
        _require(self.beta > 0, "beta must be positive")


class SimNPO(_EpochRunner):
    """NPO without a reference model, on the length-normalised NLL."""

    name: ClassVar[str] = "simnpo"
    summary: ClassVar[str] = "−(2/β)·log σ(β·(NLL/|y| − δ)) + α·NLL(retain)"
    settings_type: ClassVar[type[MethodSettings]] = SimNPOSettings

    def run(self, ctx: RunContext, settings: SimNPOSettings) -> MethodOutcome:
        """Run ``epochs`` passes."""
        return self.run_epochs(ctx, settings, trainable(ctx.model))

    def loss(
        self, ctx: RunContext, settings: SimNPOSettings, forget: list, retain: list
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """SimNPO forget loss plus the retain NLL."""
        batch = make_batch(forget, ctx.pad).to(ctx.loaded.device)
        picked, mask = token_logprobs(ctx.model, batch)
        mean_nll = -picked.sum(-1) / mask.sum(-1).clamp(min=1)
        forget_loss = (
            -(2 / settings.beta) * F.logsigmoid(settings.beta * (mean_nll - settings.delta)).mean()
        )
        retain_nll = _retain_nll(ctx, retain)
        loss = settings.gamma * forget_loss + settings.alpha * retain_nll
        return loss, {
            "simnpo": float(forget_loss.detach()),
            "retain_nll": float(retain_nll.detach()),
        }


@dataclass(frozen=True)
class RMUSettings(MethodSettings):
    """RMU (Li et al. 2024, WMDP): steering coefficient 6.5, α 1200, three MLP layers.

    The steering coefficient is relative here: c = steering_coeff × the mean activation
    norm on the forget items, because the published absolute values (6.5 for Zephyr-7B,
    300 in open-unlearning for Llama) track each model's activation scale. ``layer`` −1
    picks the block at 7/16 of the depth (open-unlearning's layer 7 of 16); the MLP output
    weights of that block and the two before it are updated.
    """

    steering_coeff: float = 6.5
    alpha: float = 1200.0
    layer: int = -1

    def validate(self) -> None:
        """c and α must be positive."""
        super().validate()
        _require(
            self.steering_coeff > 0 and self.alpha >= 0,
            "steering_coeff must be positive, alpha >= 0",
        )


class RMU:
    """Representation misdirection: push forget activations to a random direction."""

    name: ClassVar[str] = "rmu"
    summary: ClassVar[str] = "‖h_L(x_f) − c·u‖² + α·‖h_L(x_r) − h_L^frozen(x_r)‖²"
    settings_type: ClassVar[type[MethodSettings]] = RMUSettings

    def run(self, ctx: RunContext, settings: RMUSettings) -> MethodOutcome:
        """Train the chosen MLP weights so forget activations point along c·u."""
        layer = _rmu_layer(ctx.model, settings.layer)
        params = _rmu_params(ctx.model, layer)
        frozen = frozen_copy(ctx.model)
        generator = torch.Generator().manual_seed(ctx.seed)
        hidden = _hidden_size(ctx.model)
        direction = torch.rand(hidden, generator=generator)
        scale = settings.steering_coeff * _mean_norm(ctx, layer)
        control = (scale * direction / direction.norm()).to(ctx.loaded.device)
        forget, retain = ctx.forget_pairs(), ctx.retain_pairs()
        batches = [
            b
            for _ in range(settings.epochs)
            for b in epoch_batches(forget, settings.batch_size, ctx.rng)
        ]

        def loss_fn(step: int) -> tuple[torch.Tensor, dict[str, float]]:
            h_forget, keep = _hidden(ctx, ctx.model, batches[step - 1], layer, False)
            forget_loss = F.mse_loss(
                h_forget[keep], control.expand_as(h_forget[keep]).to(h_forget.dtype)
            )
            retain_loss = _rmu_retain(
                ctx, frozen, sample_batch(retain, settings.retain_batch_size, ctx.rng), layer
            )
            loss = forget_loss + settings.alpha * retain_loss
            return loss, {
                "forget_mse": float(forget_loss.detach()),
                "retain_mse": float(retain_loss.detach()),
            }

        return optimise(ctx, params, settings, planned_steps(settings, len(forget)), loss_fn)


@torch.no_grad()
def _mean_norm(ctx: RunContext, layer: int) -> float:
    """Mean norm of the forget items' activations after block ``layer``."""
    h_forget, keep = _hidden(ctx, ctx.model, ctx.forget_pairs()[:64], layer, False)
    return float(h_forget[keep].norm(dim=-1).mean())


def _rmu_layer(model: PreTrainedModel, requested: int) -> int:
    count = int(model.config.num_hidden_layers)
    layer = requested if requested >= 0 else round(count * 7 / 16)
    return max(0, min(count - 1, layer))


def _hidden_size(model: PreTrainedModel) -> int:
    return int(model.config.hidden_size)


def _rmu_params(model: nn.Module, layer: int) -> list[nn.Parameter]:
    """The MLP output projection weights of blocks layer−2..layer."""
    wanted = {str(i) for i in range(max(0, layer - 2), layer + 1)}
    chosen = []
    for name, param in model.named_parameters():
        parts = name.split(".")
        is_block = any(
            parts[i] in ("h", "layers") and i + 1 < len(parts) and parts[i + 1] in wanted
            for i in range(len(parts))
        )
        if (
            is_block
            and "mlp" in name
            and name.endswith("weight")
            and any(k in name for k in ("c_proj", "down_proj", "fc_out", "dense_4h_to_h"))
        ):
            chosen.append(param)
    return chosen


def _hidden(
    ctx: RunContext, model: nn.Module, pairs: list, layer: int, whole_text: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states after block ``layer`` and the positions that predict labelled tokens."""
    batch = make_batch(pairs, ctx.pad, label_prompt=whole_text).to(ctx.loaded.device)
    out = model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True
    )
    keep = torch.zeros_like(batch.labels, dtype=torch.bool)
    keep[:, :-1] = batch.labels[:, 1:] != -100
    return out.hidden_states[layer + 1].float(), keep


def _rmu_retain(ctx: RunContext, frozen: nn.Module, retain: list, layer: int) -> torch.Tensor:
    if not retain:
        return torch.zeros((), device=ctx.loaded.device)
    h_now, keep = _hidden(ctx, ctx.model, retain, layer, True)
    with torch.no_grad():
        h_ref, _ = _hidden(ctx, frozen, retain, layer, True)
    return F.mse_loss(h_now[keep], h_ref[keep])
