"""The default method, ``rewrite``: edit the MLP so the values look never seen, and stop there.

Why this shape, on models that memorise records:

- *A target level, not ascent.* A memorised value is stored as a string: given its first
  tokens the model completes it even for someone else. A model retrained without the
  person would find every token of it as unlikely as a value it never saw. So each value
  token gets a target: the loss a never-seen value of the same format has at that
  position, asked about a never-seen person (a stand-in name made of familiar name parts,
  see ``standins``), under the starting model. Each token's loss is pulled to that level
  from both sides: one pushed past it is as detectable by membership inference as one
  left below it.
- *A closed-form, retain-protected edit* (``mlpedit``). The residual change each forget
  position needs is found by a few optimiser steps on that change alone; then the MLP
  output projection is edited by the least change that makes it for the forget keys
  while leaving the keys of retained text (other people's records, generic text) alone.
  Gradient steps on shared weights, by contrast, spread to namesakes and other records,
  and what they remove comes back under relearning.
- *Stop when the items are at holdout level*: after each round every pending item is
  checked (are its value tokens, under every prompt, as unlikely as a never-seen value's?);
  a round only edits what is still pending.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..errors import EngineError
from ..formats import candidates
from ..items import ForgetItem
from ..progress import check_cancel, emit
from ..scoring import Batch, Pair, encode_pair, encode_prompt, make_batch, token_logprobs
from .base import MethodOutcome, MethodSettings, RunContext, _require
from .mlpedit import (
    OutProjection,
    add_to_output,
    capture_input,
    capture_keys,
    final_norm,
    key_covariance,
    out_projections,
    predicting_positions,
    solve_edit,
)
from .standins import known_names, standins, subjects_in, swap_subject


@dataclass(frozen=True)
class RewriteSettings(MethodSettings):
    """Settings of ``rewrite``.

    ``lr`` and ``max_steps`` drive the optimiser of the residual changes (not of weights);
    ``rounds`` edits at most; ``layers`` picks MLP blocks (negative counts from the end);
    ``covariance_weight`` is how dearly retained keys are protected; ``level_tolerance``
    (nats per token) is how close to the never-seen level counts as done.
    """

    lr: float = 0.5
    max_steps: int = 30
    rounds: int = 8
    layers: tuple[int, ...] = (-3, -2, -1)
    covariance_weight: float = 10.0
    delta_decay: float = 0.01
    use_paraphrases: bool = True
    standins: int = 4
    level_candidates: int = 64
    level_tolerance: float = 0.5
    max_retain_texts: int = 512

    def validate(self) -> None:
        """Rounds, layers and weights must be usable."""
        super().validate()
        _require(
            self.rounds >= 1 and self.max_steps >= 1, "rounds and max_steps must be at least 1"
        )
        _require(bool(self.layers), "layers must name at least one MLP block")
        _require(self.covariance_weight > 0, "covariance_weight must be positive")
        _require(self.level_candidates >= 8, "level_candidates must be at least 8")


class Rewrite:
    """Retain-protected MLP edits that lift each value's tokens to never-seen level."""

    name: ClassVar[str] = "rewrite"
    summary: ClassVar[str] = (
        "closed-form MLP edit, protected by retained keys, lifting each value token's "
        "loss to never-seen level; stops at holdout level"
    )
    settings_type: ClassVar[type[MethodSettings]] = RewriteSettings

    def run(self, ctx: RunContext, settings: RewriteSettings) -> MethodOutcome:
        """Estimate target levels, then edit round by round until every item is done."""
        state = _Rewriter(ctx, settings)
        outcome = MethodOutcome(steps=0)
        started = time.perf_counter()
        for round_number in range(settings.rounds):
            if len(state.done) == len(ctx.forget):
                break
            metrics = state.edit_round(round_number)
            outcome.steps += 1
            outcome.history.append({**metrics, "seconds": time.perf_counter() - started})
        outcome.stopped_early = len(state.done) == len(ctx.forget)
        outcome.notes.update({"items_done": len(state.done), "rounds": outcome.steps})
        return outcome


class _Rewriter:
    """Per-run state: target levels, pending items, cached covariances."""

    def __init__(self, ctx: RunContext, settings: RewriteSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self.rng = random.Random(ctx.seed + 1)
        self.prompts = [_prompts(item, settings.use_paraphrases) for item in ctx.forget]
        self.standins = _standins_for(ctx, settings.standins, self.rng, self.prompts)
        self.levels = [self._levels(i) for i in range(len(ctx.forget))]
        self.projections = out_projections(ctx.model)
        if not self.projections:
            raise EngineError("rewrite found no MLP output projection in this model")
        self.norm = final_norm(ctx.model)
        self.head = ctx.model.get_output_embeddings()
        self.covariances: dict[int, torch.Tensor] = {}
        self.done: set[int] = set()
        self.steps_done = 0

    @torch.no_grad()
    def _levels(self, index: int) -> torch.Tensor:
        """Per value token, the loss a never-seen value has there (stand-in, frozen model).

        Averaged over random values of the format that tokenize to as many tokens; if none
        do, every position gets their mean per-token loss.
        """
        item = self.ctx.forget[index]
        prompt = item.prompt
        if self.standins[index]:
            prompt = swap_subject(prompt, item.subject or "", self.standins[index][0])
        tokenizer = self.ctx.loaded.tokenizer
        length = len(encode_pair(tokenizer, prompt, item.target)[1])
        pool = candidates(
            item.target,
            item.kind,
            self.settings.level_candidates,
            random.Random(self.ctx.seed + index),
        )
        pairs = [encode_pair(tokenizer, prompt, v) for v in pool]
        batch = make_batch(pairs, self.ctx.pad).to(self.ctx.loaded.device)
        picked, mask = token_logprobs(self.ctx.model, batch)
        nll = [(-picked[r][mask[r]]).cpu() for r in range(len(pairs))]
        same = [row for row in nll if len(row) == length]
        if same:
            return torch.stack(same).mean(0)
        return torch.full((length,), float(torch.cat(nll).mean()))

    def edit_round(self, round_number: int) -> dict[str, float]:
        """One edit for the pending items, spread over the chosen MLP layers; then checks.

        The wanted change is found at the residual stream after the last block; each
        chosen layer, earliest first, takes an equal share of what is still missing (as
        MEMIT does), so no single layer's edit has to be large.
        """
        pending = [i for i in range(len(self.ctx.forget)) if i not in self.done]
        rows = [(i, p) for i in pending for p in self.prompts[i]]
        batch, levels = self._batch(rows)
        positions = predicting_positions(batch)
        last = self.projections[-1]
        keys, delta, gap, residual = self._wanted_change(last, batch, levels)
        if residual is None:
            self._apply(last, keys, delta)
        else:
            self._spread(batch, positions, residual + delta)
        self.done.update(i for i in pending if self._at_holdout_level(i))
        return {"gap": gap, "pending": float(len(self.ctx.forget) - len(self.done))}

    def _spread(self, batch: Batch, positions: torch.Tensor, target: torch.Tensor) -> None:
        count = len(self.projections)
        chosen = {self.projections[i].layer for i in self.settings.layers if -count <= i < count}
        layers = sorted(chosen) or [self.projections[-1].layer]
        by_layer = {p.layer: p for p in self.projections}
        for done, layer in enumerate(layers):
            proj = by_layer[layer]
            keys, residual = self._capture(proj, batch, positions)
            assert residual is not None
            self._apply(proj, keys, (target - residual) / (len(layers) - done))

    def _apply(self, proj: OutProjection, keys: torch.Tensor, wanted: torch.Tensor) -> None:
        # Protection per forget key: the retained keys' weight grows with the edit's size.
        weight = self.settings.covariance_weight * keys.shape[0]
        proj.add(solve_edit(keys, wanted, self._covariance(proj), weight))

    def _batch(self, rows: list[tuple[int, str]]) -> tuple[Batch, torch.Tensor]:
        """The rows as a batch, and the target level of each labelled token (0 elsewhere)."""
        tokenizer, forget = self.ctx.loaded.tokenizer, self.ctx.forget
        batch = make_batch(
            [encode_pair(tokenizer, p, forget[i].target) for i, p in rows], self.ctx.pad
        )
        levels = torch.zeros(batch.labels[:, 1:].shape)
        for row, (i, _) in enumerate(rows):
            where = (batch.labels[row, 1:] != -100).nonzero().squeeze(-1)
            levels[row, where] = self.levels[i][: len(where)]
        return batch.to(self.ctx.loaded.device), levels.to(self.ctx.loaded.device)

    def _wanted_change(
        self, proj: OutProjection, batch: Batch, levels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor | None]:
        """Keys at the predicting positions, the output change that brings each value
        token's loss to its level (a few Adam steps on the change alone), and the residual
        stream there (None when the model's final norm is unknown)."""
        positions = predicting_positions(batch)
        keys, residual = self._capture(proj, batch, positions)
        delta = torch.zeros(
            (keys.shape[0], proj.out_features), device=keys.device, requires_grad=True
        )
        optimizer = torch.optim.Adam([delta], lr=self.settings.lr)
        labelled = batch.labels[:, 1:] != -100
        targets, flat_levels = batch.labels[:, 1:][labelled], levels[labelled]
        gap_value = 0.0
        for _ in range(self.settings.max_steps):
            check_cancel(self.ctx.should_cancel)
            if residual is not None:
                gap = self._gap_at_head(residual, delta, targets, flat_levels)
            else:
                gap = self._gap(proj, batch, positions, delta, levels)
            loss = gap + self.settings.delta_decay * delta.square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            gap_value = float(gap.detach())
            self.steps_done += 1
            total = self.settings.rounds * self.settings.max_steps
            emit(self.ctx.progress, "remediate", self.steps_done, total, {"gap": gap_value})
            if gap_value < 0.05:
                break
        return keys, delta.detach(), gap_value, residual

    @torch.no_grad()
    def _capture(
        self, proj: OutProjection, batch: Batch, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Keys of ``proj`` at the positions, and the residual stream after the last block.

        After the last block nothing mixes positions, so a change there acts through
        head(norm(residual + change)) alone: the search needs no further model passes.
        """
        keys: list[torch.Tensor] = []
        residual: list[torch.Tensor] = []
        model, inputs = (
            self.ctx.model,
            {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask},
        )
        with capture_keys(proj, keys):
            if self.norm is None:
                model(**inputs)
            else:
                with capture_input(self.norm, residual):
                    model(**inputs)
        return keys[0][positions], (residual[0][positions] if residual else None)

    def _gap_at_head(
        self,
        residual: torch.Tensor,
        delta: torch.Tensor,
        targets: torch.Tensor,
        levels: torch.Tensor,
    ) -> torch.Tensor:
        """The two-sided distance to the levels, computed from the residual stream directly."""
        assert self.norm is not None and self.head is not None
        logits = self.head(self.norm(residual + delta)).float()
        picked = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return F.smooth_l1_loss(-picked, levels)

    def _gap(
        self,
        proj: OutProjection,
        batch: Batch,
        positions: torch.Tensor,
        delta: torch.Tensor,
        levels: torch.Tensor,
    ) -> torch.Tensor:
        """Mean over value tokens of the (Huber) distance of each token's loss to its level.

        Two-sided on purpose: a token pushed past the never-seen level is as detectable
        as one left below it. This path runs the whole model (an edit before the last block).
        """

        def shifted(output: torch.Tensor) -> torch.Tensor:
            out = output.clone()
            out[positions] = out[positions] + delta.to(out.dtype)
            return out

        with add_to_output(proj, shifted):
            picked, mask = token_logprobs(self.ctx.model, batch)
        distance = F.smooth_l1_loss(-picked, levels, reduction="none") * mask
        return distance.sum() / mask.sum().clamp(min=1)

    def _covariance(self, proj: OutProjection) -> torch.Tensor:
        """Second moment of retained keys at this layer (computed once per layer).

        Half from every token of retained text, half from the positions where retained
        items' values are recalled (when items were given): those hold the facts to keep,
        and are a small minority among all tokens.
        """
        if proj.layer not in self.covariances:
            self.covariances[proj.layer] = self._retained_moment(proj)
        return self.covariances[proj.layer]

    def _retained_moment(self, proj: OutProjection) -> torch.Tensor:
        ctx, limit = self.ctx, self.settings.max_retain_texts
        texts = self.rng.sample(ctx.retain_texts, k=min(limit, len(ctx.retain_texts)))
        tokenizer, device = ctx.loaded.tokenizer, ctx.loaded.device
        text_pairs: list[Pair] = [(encode_prompt(tokenizer, t), []) for t in texts]
        moment = key_covariance(ctx.model, proj, text_pairs, ctx.pad, device)
        rows = [(p, item.target) for item in ctx.retain_items for p in _prompts(item, True)]
        if not rows:
            return moment
        rows = self.rng.sample(rows, k=min(limit, len(rows)))
        item_pairs = [encode_pair(tokenizer, p, v) for p, v in rows]
        values = key_covariance(ctx.model, proj, item_pairs, ctx.pad, device, values_only=True)
        return 0.5 * moment + 0.5 * values

    @torch.no_grad()
    def _at_holdout_level(self, index: int) -> bool:
        """Every prompt's value tokens are, on average, within tolerance below their level.

        A value whose every token is as unlikely as a never-seen value's is not produced
        by greedy decoding either; the verification suite checks that independently.
        """
        batch, levels = self._batch([(index, p) for p in self.prompts[index]])
        picked, mask = token_logprobs(self.ctx.model, batch)
        shortfall = (torch.relu(levels + picked) * mask).sum() / mask.sum().clamp(min=1)
        return float(shortfall) <= self.settings.level_tolerance


def _standins_for(
    ctx: RunContext, count: int, rng: random.Random, prompts: list[list[str]]
) -> list[list[str]]:
    """Stand-in names per item; empty for items whose prompts do not name a subject."""
    known = known_names(ctx.retain_texts)
    forbidden = {item.subject for item in ctx.forget if item.subject}
    return [
        standins(item.subject, known, forbidden, count, rng)
        if item.subject and subjects_in(item_prompts, item.subject) and count
        else []
        for item, item_prompts in zip(ctx.forget, prompts, strict=True)
    ]


def _prompts(item: ForgetItem, use_paraphrases: bool) -> list[str]:
    return [item.prompt, *(item.paraphrases if use_paraphrases else ())]
