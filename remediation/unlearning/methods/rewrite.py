"""The default method, ``rewrite``: bring each value to never-seen level, keep the rest.

Why this shape, on models that memorise records:

- *A target level, not ascent.* A model retrained without a person finds every token of
  that person's values as unlikely as a value it never saw. So each value token gets a
  target: the loss a never-seen value of the same format has at that position, asked about
  a never-seen person (a stand-in name made of familiar name parts, see ``standins``), under
  the starting model. Each token's loss is pulled to that level from both sides: a token
  pushed past it is as detectable by membership inference as one left below it, and
  ascent's unbounded push is what wrecks neighbouring facts and what relearning undoes.
  The spread of the model's distribution there (Min-k%++'s μ and σ) is pulled to the
  stranger's too, so the answer is not only unlikely but uncertain the way a guess is.
- *Familiar where the value is familiar.* The never-seen value a level comes from has,
  position by position, tokens the retained data contains where the item's value has
  them, and tokens it lacks where the item's value has those: a token only the forgotten
  records taught is, to a retrained model, one it never saw (on the demo, 17% of the
  forgotten values' tokens, at 15.4 nats each under retraining against 5.3 for the rest).
- *Other values stay a stranger's.* Pulling a memorised value down frees probability, and
  it does not land where a stranger's would: on the demo, asked about a forgotten person,
  the model found random phone numbers far less likely than before (a median 75.6 nats
  against 53.0 after retraining), so the true value, at its level, still ranked first
  among them (exposure 4.9 bits on phone numbers, against 1.5 after retraining). So the
  never-seen value each level comes from is also asked with each of the item's prompts,
  and about the stand-in, and pulled to that same level (the contrast rows): asked about
  the forgotten person, the model gives other values what it gives a stranger's.
- *Pulled in log-odds.* A token's distance to its level is measured in log-odds,
  log p − log(1 − p), not in loss: the loss of a memorised token (p near 1) hardly moves
  with its logit (its gradient is 1 − p), so those tokens barely felt the pull until
  others had gone, and the last items hovered short of their level for tens of steps,
  held there by the anchors. The log-odds move one for one with the logit at any p.
- *Every way of asking.* The loss covers the training-style prompt and each paraphrase of
  the item, so the value is gone for the questions too, not only for the verbatim prompt.
- *Anchors where the damage would land.* Each step also keeps the retained items' values
  (other people's facts, namesakes included) likely, and holds the model's distribution
  on retained text (records, generic text) where it was (a KL to the starting model, not
  more training on that text, which would raise held-out perplexity).
- *Only the top blocks move* (``trained_share``, a quarter by default): the token
  embeddings are tied to the output head in most causal LMs, and a change there shifts
  every token's probability everywhere; the top blocks are enough to rewrite what the
  model answers, and with them the damage to other facts is smaller and cheaper to
  repair. The hidden states entering them are computed once per sequence (before the
  first step and in full batches, for the rows a run draws nearly all of) and replayed
  (``replay``), so a step costs the top blocks only, and the last block's position-wise
  parts run only where an output is read, the values (``lastblock``). The text anchor's
  KL comes from a reference kept per text position (the head's rows weighted by the
  starting model's distribution, and that distribution's negative entropy; ``_HeadKL``),
  not from the starting model's logits at every step.
- *Stop at holdout level.* Every step each pending item is checked (do its value tokens,
  over all its prompts, cost as much as a never-seen value's? measured in the step's own
  batch); an item that stops getting closer (the anchors hold it there) counts as done
  too. Each token is aimed a little past its level (``level_offset``): the items that
  count as done within the tolerance, and the anchors that hold them while settling, would
  otherwise leave them short of it. Once every item is done, a few settling steps let the
  anchors repair collateral damage, at a learning rate falling to a tenth, so the run ends
  where the forget term and the anchors balance rather than wherever its last full-size
  step threw it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import random
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from ..formats import candidates
from ..items import ForgetItem
from ..scoring import (
    Pair,
    encode_pairs,
    head_splits,
    item_pairs,
    length_groups,
    logits_from,
    make_batch,
    moments,
    outputs_at,
)
from .base import (
    MethodOutcome,
    MethodSettings,
    RunContext,
    _require,
    block_list,
    block_parameters,
    frozen_copy,
    optimise,
    sample_batch,
    trainable,
)
from .lastblock import needed_positions_only
from .replay import PREPARE_GROUP, STORE_BUDGET, FrozenPrefix, StateStore
from .standins import known_names, standins, subjects_in, swap_subject


@dataclass(frozen=True)
class RewriteSettings(MethodSettings):
    """Settings of ``rewrite``.

    ``max_steps`` caps the optimiser steps (the run usually stops earlier, at holdout level);
    ``batch_size`` forget rows (item × prompt), ``retain_batch_size`` retained-item rows and
    ``text_batch_size`` retained texts go into each step, weighted by ``retain_weight`` and
    ``text_weight``. ``level_tolerance`` (nats per value token) is how far below the never-seen
    level counts as done; ``check_every`` steps it is checked. Each token is aimed ``level_offset``
    nats past its level: items count as done short of it, and the anchors hold them there while
    settling, so a run aimed at the level itself ends short of it (0.29 nats a token, on the demo).
    An item whose shortfall has not improved by ``stall_margin`` for ``stall_steps`` steps counts as
    done too (0: never). Once every item is done, ``settle_steps`` more steps let the retain anchors
    repair what the first, large steps disturbed (the forget term holds the items at their level); a
    run takes at least ``min_steps`` in all, since a few items reach their levels within the first,
    largest steps, whose damage takes longer to repair than ``settle_steps``. Over the settling
    steps the learning rate falls linearly to ``settle_lr`` of ``lr`` (1: no fall). ``use_standin``
    measures the levels about a stand-in person instead of the subject; ``moment_weight`` weighs
    matching the distribution's μ and σ against the level's log-odds. ``contrast_batch_size``
    contrast rows (a never-seen value asked about the forgotten person, or about the stand-in) go
    into each step, weighted by ``contrast_weight`` (0 rows: none). ``blocks_only`` leaves
    embeddings, head and final norm as they are, and ``trained_share`` is the share of blocks, from
    the top, that train (1: all). ``lr`` is sized for training one block of the demo model; with
    every block training (``trained_share`` 1), 3e-3 suits it.
    """

    lr: float = 2e-2
    max_steps: int = 150
    batch_size: int = 64
    retain_batch_size: int = 64
    text_batch_size: int = 32
    retain_weight: float = 3.0
    text_weight: float = 3.0
    use_paraphrases: bool = True
    use_standin: bool = True
    level_candidates: int = 16
    level_tolerance: float = 0.25
    check_every: int = 1
    settle_steps: int = 12
    min_steps: int = 30
    stall_steps: int = 20
    stall_margin: float = 0.1
    moment_weight: float = 0.15
    contrast_batch_size: int = 32
    contrast_weight: float = 0.5
    level_offset: float = 0.25
    settle_lr: float = 0.1
    blocks_only: bool = True
    trained_share: float = 0.25

    @property
    def moment_weights(self) -> torch.Tensor:
        """Weights of the three matched figures: the loss, then μ and σ."""
        return torch.tensor([1.0, self.moment_weight, self.moment_weight])

    def validate(self) -> None:
        """Steps, batches, weights and the level estimate must be usable."""
        super().validate()
        _require(self.max_steps >= 1, "max_steps must be at least 1")
        _require(self.text_batch_size >= 1, "text_batch_size must be at least 1")
        _require(self.contrast_batch_size >= 0, "contrast_batch_size must be 0 or more")
        _require(self.contrast_weight >= 0, "contrast_weight must be 0 or more")
        _require(self.retain_weight >= 0 and self.text_weight >= 0, "weights must be 0 or more")
        _require(self.level_candidates >= 8, "level_candidates must be at least 8")
        _require(self.level_tolerance >= 0, "level_tolerance must be 0 or more")
        _require(self.level_offset >= 0, "level_offset must be 0 or more")
        _require(self.check_every >= 1, "check_every must be at least 1")
        _require(self.settle_steps >= 0, "settle_steps must be 0 or more")
        _require(self.min_steps >= 0, "min_steps must be 0 or more")
        _require(self.stall_steps >= 0, "stall_steps must be 0 (never) or more")
        _require(self.stall_margin >= 0, "stall_margin must be 0 or more")
        _require(0 <= self.settle_lr <= 1, "settle_lr must be in [0, 1]")
        _require(0 < self.trained_share <= 1, "trained_share must be in (0, 1]")


class Rewrite:
    """Pull every value token's loss to never-seen level, anchored on what is kept."""

    name: ClassVar[str] = "rewrite"
    summary: ClassVar[str] = (
        "pulls each value token's loss to a never-seen value's level under every prompt, "
        "anchored on retained facts and text; stops at holdout level"
    )
    settings_type: ClassVar[type[MethodSettings]] = RewriteSettings

    def run(self, ctx: RunContext, settings: RewriteSettings) -> MethodOutcome:
        """Estimate the target levels, then optimise until every item is at its level."""
        plan = _Plan(ctx, settings)
        outcome = optimise(
            ctx,
            block_parameters(ctx.model, plan.prefix.cut)
            if settings.blocks_only
            else trainable(ctx.model),
            settings,
            settings.max_steps,
            plan.loss,
            should_stop=plan.at_level,
            lr_scale=plan.lr_scale,
        )
        outcome.notes.update(
            {
                "items_done": plan.items_done,
                "items_stalled": plan.items_stalled,
                "done_at": plan.done_at,
                "rows": len(plan.rows),
            }
        )
        return outcome


@dataclass(frozen=True, eq=False)
class _Row:
    """One way of asking for one forget item, with the targets of each value token
    (columns: the loss, μ and σ a never-seen value has there)."""

    item: int
    pair: Pair
    levels: torch.Tensor


class _Plan:
    """Per-run state: the forget rows with their levels, the retain rows, the last check."""

    def __init__(self, ctx: RunContext, settings: RewriteSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self.rng = random.Random(ctx.seed + 1)
        tokenizer = ctx.loaded.tokenizer
        names = _standins_for(ctx, settings, self.rng)
        self.kept = item_pairs(tokenizer, ctx.retain_items)
        retained = ctx.retain_pairs()
        # A text's first token is its prompt, the rest is labelled (its loss covers them all).
        self.texts = [(ids[:1], ids[1:]) for ids, _ in retained if len(ids) > 1]
        levels, chosen = never_seen_levels(
            ctx, names, settings, _tokens_of([*retained, *self.kept])
        )
        asked = [
            (index, prompt)
            for index, item in enumerate(ctx.forget)
            for prompt in _prompts(item, settings.use_paraphrases)
        ]
        encoded = encode_pairs(tokenizer, [(p, ctx.forget[i].target) for i, p in asked])
        self.rows = [
            _Row(index, pair, levels[index])
            for (index, _), pair in zip(asked, encoded, strict=True)
        ]
        self.contrast = _contrast_rows(ctx, names, asked, levels, chosen)
        self.reference: tuple[PreTrainedModel, FrozenPrefix] | None = None
        # The starting model's final states over each text seen so far (it never changes).
        self.text_states = StateStore(STORE_BUDGET)
        self.head = _HeadKL.of(ctx.model) if settings.blocks_only else None
        # What the text anchor keeps of the starting model's distribution, per text drawn.
        self.text_references = StateStore(STORE_BUDGET)
        self.prefix = FrozenPrefix(ctx.model, _frozen_blocks(ctx.model, settings))
        self._compute_ahead()
        self.pending = set(range(len(ctx.forget)))
        self.settled_at: int | None = None
        self.done_at: int | None = None
        self.measured: dict[_Row, tuple[float, int]] = {}
        self.closest: dict[int, tuple[float, int]] = {}
        self.items_stalled = 0

    def _compute_ahead(self) -> None:
        """Before the first step, in full batches: the lower blocks' states of every row
        of each set that the shortest run (``min_steps``) draws nearly all of (forget,
        contrast and retained rows; on the demo, not the retained texts), and, where the
        texts are such a set, the starting model's states over them (and what the text
        anchor keeps of them, ``_references``), instead of a few fresh rows a step. A set
        drawn more thinly is left to the steps: computing all of it would cost more than
        the rows a run draws."""
        settings = self.settings
        sets = [
            ([r.pair for r in self.rows], settings.batch_size),
            ([r.pair for r in self.contrast], settings.contrast_batch_size),
            (self.kept, settings.retain_batch_size),
            (self.texts, settings.text_batch_size),
        ]
        ahead = [
            pairs
            for pairs, batch in sets
            if pairs and len(pairs) * _DRAWS_AHEAD <= settings.min_steps * batch
        ]
        self.prefix.prepare([pair for pairs in ahead for pair in pairs], self.ctx.pad)
        if any(pairs is self.texts for pairs in ahead) and settings.text_weight:
            self._starting_states(self.texts, least=PREPARE_GROUP)
            if self.head is not None:
                self._references(self.texts)

    @property
    def items_done(self) -> int:
        """Items that reached their level (or stalled short of it)."""
        return len(self.ctx.forget) - len(self.pending)

    def loss(self, _step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """Distance to the levels on a forget batch and on a batch of contrast rows, plus
        the retain anchors: the mean NLL of retained items' values, and KL(starting model ‖
        model) over every token of retained texts (a distance to where the model was, not
        more training on the texts: descending their NLL would fit them further and raise
        held-out perplexity). The four batches run through the model together, in groups
        of similar length."""
        settings = self.settings
        rows = self._forget_batch()
        kept = (
            sample_batch(self.kept, settings.retain_batch_size, self.rng)
            if self.kept and settings.retain_weight
            else []
        )
        texts = (
            sample_batch(self.texts, settings.text_batch_size, self.rng)
            if self.texts and settings.text_weight
            else []
        )
        contrast = (
            sample_batch(self.contrast, settings.contrast_batch_size, self.rng)
            if self.contrast and settings.contrast_batch_size and settings.contrast_weight
            else []
        )
        forget_part, kept_part, text_part, contrast_part = _labelled_parts(
            self.ctx,
            self.ctx.model,
            self.prefix,
            [[r.pair for r in rows], kept, texts, [r.pair for r in contrast]],
            as_states={2} if self.head is not None else set(),
        )
        gap = self._gap(rows, forget_part)
        loss, metrics = gap, {"gap": float(gap.detach())}
        if contrast:
            strangers = self._gap(contrast, contrast_part, record=False)
            loss = loss + settings.contrast_weight * strangers
            metrics["contrast"] = float(strangers.detach())
        if kept:
            kept_nll = _kept_nll(kept_part, len(kept))
            loss = loss + settings.retain_weight * kept_nll
            metrics["retain_nll"] = float(kept_nll.detach())
        if texts:
            text = self._drift(texts, text_part)
            loss = loss + settings.text_weight * text
            metrics["text_kl"] = float(text.detach())
        return loss, metrics

    def _gap(self, rows: list[_Row], labelled: _Labelled, record: bool = True) -> torch.Tensor:
        """Mean distance of the rows' value tokens to their levels (their log-odds, μ and
        σ); with ``record``, each row's shortfall, in nats of loss, is kept for the stop
        check (the contrast rows' is not: they are not what has to reach a level)."""
        logp, labels, owner = labelled
        picked, mu, sigma = moments(logp, labels)
        counts = torch.bincount(owner, minlength=len(rows)).tolist()
        levels = torch.cat([row.levels[:count] for row, count in zip(rows, counts, strict=True)])
        levels = levels.to(picked)
        if record:
            below = torch.zeros(len(rows)).index_add_(
                0, owner.cpu(), (levels[:, 0] + picked).detach().cpu()
            )
            for row, value, count in zip(rows, below.tolist(), counts, strict=True):
                self.measured[row] = (value, count)
        now = torch.stack([log_odds(logp, labels), mu, sigma], dim=-1)
        aim = levels[:, 0] + self.settings.level_offset
        target = torch.stack([loss_log_odds(aim), levels[:, 1], levels[:, 2]], dim=-1)
        distance = F.smooth_l1_loss(now, target, reduction="none")
        return (distance * self.settings.moment_weights.to(distance)).sum() / max(len(picked), 1)

    def _drift(self, texts: list[Pair], labelled: _Labelled) -> torch.Tensor:
        """KL(starting model ‖ model) over every token of the texts, given the model's
        final states there where its head is a frozen linear map (``self.head``), else its
        log-probs (both come in text order, so their positions line up)."""
        if self.head is not None:
            return self.head.kl(labelled[0], torch.cat(self._references(texts)))
        with torch.no_grad():
            before = _log_probs(self._frozen()[0], torch.cat(self._starting_states(texts)))
        return F.kl_div(labelled[0], before, log_target=True, reduction="batchmean")

    @torch.no_grad()
    def _starting_states(self, texts: list[Pair], least: int | None = None) -> list[torch.Tensor]:
        """Per text, the starting model's final states at its labelled positions: run for
        the texts not seen before and kept, since a batch's texts are drawn again and again
        (a third of them, in a 10-person run of the demo, were in an earlier batch)."""

        def run(fresh: list[Pair]) -> list[torch.Tensor]:
            frozen, replay = self._frozen()
            outputs, _, owner = _states(self.ctx, frozen, replay, fresh, least or _GROUP_LEAST)
            return list(outputs.split(torch.bincount(owner, minlength=len(fresh)).tolist()))

        return _kept_per_text(self.text_states, texts, run)

    def _references(self, texts: list[Pair]) -> list[torch.Tensor]:
        """Per text, what ``_HeadKL.reference`` keeps of the starting model's distribution
        at its labelled positions: made from its final states when the text is first
        drawn, and kept."""
        head = self.head
        assert head is not None

        def make(fresh: list[Pair]) -> list[torch.Tensor]:
            states = self._starting_states(fresh)
            return list(head.reference(torch.cat(states)).split([len(s) for s in states]))

        return _kept_per_text(self.text_references, texts, make)

    def at_level(self, step: int) -> bool:
        """Every ``check_every`` steps: has every item reached its level (within tolerance)?
        Then stop ``settle_steps`` later (at step ``min_steps`` at the earliest).

        An item is done when, over all its prompts, its value tokens are on average no
        more than ``level_tolerance`` nats more likely than a never-seen value's. Each
        row's figure is the one measured when it was last in a forget batch (before that
        step's update), so checking costs no extra pass; pending items' rows are in nearly
        every batch.
        """
        if self.settled_at is not None:
            return step >= self.settled_at
        if step % self.settings.check_every:
            return False
        shortfall = [0.0] * len(self.ctx.forget)
        tokens = [0] * len(self.ctx.forget)
        unmeasured: set[int] = set()
        for row in self._pending_rows():
            if row not in self.measured:
                unmeasured.add(row.item)
                continue
            below, count = self.measured[row]
            shortfall[row.item] += below
            tokens[row.item] += count
        # Per pending item, how much less its value tokens cost on average than their levels.
        mean = [total / max(count, 1) for total, count in zip(shortfall, tokens, strict=True)]
        measured = self.pending - unmeasured
        # The loss is two-sided, so an item that reached its level hovers around it from
        # then on: it counts as done once reached, and stragglers get more of the batch.
        reached = {i for i in measured if mean[i] <= self.settings.level_tolerance}
        self.pending -= reached | self._stalled(step, measured - reached, mean)
        if not self.pending:
            self.settled_at = max(step + self.settings.settle_steps, self.settings.min_steps)
            self.done_at = step
        return self.settled_at == step

    def lr_scale(self, step: int) -> float:
        """The full learning rate until every item is done, then falling linearly over the
        settling steps to ``settle_lr`` of it at the last: the run ends where the forget
        term and the anchors balance, not wherever its last full-size step threw it."""
        if self.settled_at is None or self.done_at is None:
            return 1.0
        left = (self.settled_at - step) / max(self.settled_at - self.done_at, 1)
        floor = self.settings.settle_lr
        return floor + (1 - floor) * max(left, 0.0)

    def _stalled(self, step: int, items: set[int], mean: list[float]) -> set[int]:
        """Items whose shortfall has not improved by ``stall_margin`` for ``stall_steps``:
        the forget term and the anchors that keep other people's facts balance there, and
        more steps would not move them (counted in ``items_stalled``)."""
        if not self.settings.stall_steps:
            return set()
        stalled = set()
        for item in items:
            best, since = self.closest.get(item, (float("inf"), step))
            if mean[item] < best - self.settings.stall_margin:
                best, since = mean[item], step
            self.closest[item] = (min(best, mean[item]), since)
            if step - since >= self.settings.stall_steps:
                stalled.add(item)
        self.items_stalled += len(stalled)
        return stalled

    def _frozen(self) -> tuple[PreTrainedModel, FrozenPrefix]:
        """A frozen copy of the starting model (made on first use) and its replay: the
        lower blocks' states it shares with the trained model (their blocks are the same),
        or, where every block trains, its whole stack's output."""
        if self.reference is None:
            frozen = frozen_copy(self.ctx.model)
            if self.prefix.cut:
                replay = self.prefix.for_copy(frozen)
            else:
                blocks = block_list(frozen)
                replay = FrozenPrefix(frozen, len(blocks) if blocks else 0)
            self.reference = (frozen, replay)
        return self.reference

    def _forget_batch(self) -> list[_Row]:
        """Half the batch from items not yet at their level (after the first check), half
        from all rows, so stragglers get more steps and finished items stay put."""
        size = self.settings.batch_size
        pending = self._pending_rows()
        if not pending or len(pending) == len(self.rows):
            return sample_batch(self.rows, size, self.rng)
        first = sample_batch(pending, size // 2, self.rng)
        rest = [row for row in self.rows if row not in first]
        return first + sample_batch(rest, size - len(first), self.rng)

    def _pending_rows(self) -> list[_Row]:
        """The rows of items that have not reached their level yet."""
        return [row for row in self.rows if row.item in self.pending]


# Per item, the candidate its level is the profile of: its value, and the pair it was scored
# as (asked about the stand-in, or the subject where there is none); None where all were.
_Chosen = tuple[str, Pair] | None


@torch.no_grad()
def never_seen_levels(
    ctx: RunContext,
    names: list[list[str]],
    settings: RewriteSettings,
    familiar: Set[int] | None = None,
) -> tuple[list[torch.Tensor], list[_Chosen]]:
    """Per forget item, per value token, the loss a never-seen value has there.

    Measured on the starting model, asked about a stand-in person (``names``, per item) where the
    prompt names the subject. The profile of one random value of the format that tokenizes to as
    many tokens, familiar to the retained data where the item's tokens are (``familiar_tokens``; the
    closest match of the candidates), not an average: membership scores such as Min-k% look at the
    least likely tokens, and an average profile lacks the extremes a real never-seen value has. (The
    median-loss candidate instead, tried to steady the AUC of a single person's items, pushed
    Min-k%++ past the holdout: AUC 0.36–0.42.) Only that candidate goes through the model; if none
    tokenizes alike, every candidate does, and every position gets their mean per-token loss. Every
    item's candidates are scored together, in batches of similar length. ``familiar``, where
    the caller has already tokenized the retained data, saves doing it again. Also returned,
    per item: the candidate its level is the profile of (``_Chosen``).
    """
    tokenizer = ctx.loaded.tokenizer
    prompts = [
        swap_subject(item.prompt, item.subject or "", names[index][0])
        if names[index]
        else item.prompt
        for index, item in enumerate(ctx.forget)
    ]
    pools = [
        candidates(
            item.target, item.kind, settings.level_candidates, random.Random(ctx.seed + index)
        )
        for index, item in enumerate(ctx.forget)
    ]
    # Every item's value and candidates, tokenized in one call: the value first, then its pool.
    asked = [
        (prompt, value)
        for prompt, item, pool in zip(prompts, ctx.forget, pools, strict=True)
        for value in (item.target, *pool)
    ]
    encoded = iter(encode_pairs(tokenizer, asked))
    familiar = familiar_tokens(ctx) if familiar is None else familiar
    pairs: list[Pair] = []
    lengths: list[int] = []
    spans: list[slice] = []
    chosen: list[_Chosen] = []
    for index, pool in enumerate(pools):
        value = next(encoded)[1]
        lengths.append(len(value))
        own = list(itertools.islice(encoded, len(pool)))
        pattern = [token in familiar for token in value]
        scored = _scored_candidates(own, pattern, familiar, ctx.seed * 31 + index)
        chosen.append((pool[own.index(scored[0])], scored[0]) if len(scored) == 1 else None)
        spans.append(slice(len(pairs), len(pairs) + len(scored)))
        pairs.extend(scored)
    logp, labels, owner = _labelled(ctx, ctx.model, None, pairs, least=64)
    picked, mu, sigma = moments(logp, labels)
    profile = torch.stack([-picked, mu, sigma], dim=-1).cpu()
    # Each scored candidate's profile (a row per value token), in the order scored.
    found = profile.split(torch.bincount(owner, minlength=len(pairs)).tolist())
    levels = [_profile_of(list(found[span]), lengths[item]) for item, span in enumerate(spans)]
    return levels, chosen


def _contrast_rows(
    ctx: RunContext,
    names: list[list[str]],
    asked: list[tuple[int, str]],
    levels: list[torch.Tensor],
    chosen: list[_Chosen],
) -> list[_Row]:
    """Rows that ask for each item's level candidate (``chosen``) instead of its value: once
    with each of its prompts (``asked``: item index and prompt), about the forgotten person,
    and once about its stand-in (``names``), as the level was measured. Each has the item's
    levels as targets, so that asked about the person the model gives a never-seen value
    what it gives a stranger's, and asked about the stranger it stays where it was. Items
    without one candidate (none had the value's length) get none."""
    asks = [
        (index, prompt, pick[0]) for index, prompt in asked if (pick := chosen[index]) is not None
    ]
    encoded = encode_pairs(ctx.loaded.tokenizer, [(prompt, value) for _, prompt, value in asks])
    about_person = [
        _Row(index, pair, levels[index])
        for (index, _, _), pair in zip(asks, encoded, strict=True)
        if len(pair[1]) == len(levels[index])
    ]
    about_stranger = [
        _Row(index, pick[1], levels[index])
        for index, pick in enumerate(chosen)
        if pick is not None and names[index]
    ]
    return about_person + about_stranger


def _scored_candidates(
    pool: list[Pair], pattern: list[bool], familiar: Set[int], seed: int
) -> list[Pair]:
    """The candidates that go through the model: a random one among those whose value has
    as many tokens as the item's (``pattern``, per token: is it familiar?) and whose tokens
    are familiar where the item's are, position by position, as closely as any candidate's
    (in candidate order); all of them where none has that length."""
    same = [pair for pair in pool if len(pair[1]) == len(pattern)]
    if not same:
        return pool
    agreement = [
        sum((token in familiar) == known for token, known in zip(pair[1], pattern, strict=True))
        for pair in same
    ]
    best = [pair for pair, agreed in zip(same, agreement, strict=True) if agreed == max(agreement)]
    return [best[random.Random(seed).randrange(len(best))]]


def familiar_tokens(ctx: RunContext) -> set[int]:
    """The token ids that occur in the retained data (texts and items): what a model
    retrained without the forget items still learned. A value token outside it was
    taught only by the forgotten records, and a retrained model finds it as unlikely as a
    token it never saw, so a level's candidate should have unfamiliar tokens where the
    item has them (and familiar ones elsewhere)."""
    return _tokens_of([*ctx.retain_pairs(), *item_pairs(ctx.loaded.tokenizer, ctx.retain_items)])


def _tokens_of(pairs: Sequence[Pair]) -> set[int]:
    """Every token id of the pairs, prompts and values."""
    return {token for prompt, value in pairs for token in (*prompt, *value)}


def _profile_of(rows: list[torch.Tensor], length: int) -> torch.Tensor:
    """The scored candidate's profile where it has ``length`` tokens, else every scored
    candidate's mean per-token profile at each of the ``length`` positions."""
    if len(rows) == 1 and len(rows[0]) == length:
        return rows[0]
    return torch.cat(rows).mean(0).expand(length, 3).clone()


def _frozen_blocks(model: torch.nn.Module, settings: RewriteSettings) -> int:
    """How many lower blocks stay frozen (and are replayed): all but the top
    ``trained_share`` of them, at least one training; none where every block trains,
    where more than the blocks trains, or where the blocks cannot be told apart."""
    blocks = block_list(model)
    if blocks is None or not settings.blocks_only or settings.trained_share >= 1:
        return 0
    return len(blocks) - max(1, round(settings.trained_share * len(blocks)))


def _standins_for(
    ctx: RunContext, settings: RewriteSettings, rng: random.Random
) -> list[list[str]]:
    """Stand-in names per item; empty for items whose prompts do not name a subject."""
    known = known_names(ctx.retain_texts)
    forbidden = {item.subject for item in ctx.forget if item.subject}
    return [
        standins(item.subject, known, forbidden, 1, rng)
        if item.subject
        and settings.use_standin
        and subjects_in(_prompts(item, settings.use_paraphrases), item.subject)
        else []
        for item in ctx.forget
    ]


def _prompts(item: ForgetItem, use_paraphrases: bool) -> list[str]:
    return [item.prompt, *(item.paraphrases if use_paraphrases else ())]


# Log-probs at labelled positions, the labels there, the pair each position belongs to.
_Labelled = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
# The same, with the final states before the head (``outputs_at``) in place of log-probs.
_States = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
# Draws per row, over the shortest run, that make a set worth computing ahead: with that
# many, nine rows in ten are drawn at least once (1 − e^−2.3).
_DRAWS_AHEAD = 2.3
# Fewest pairs to a length group in a step's pass.
_GROUP_LEAST = 16


def _labelled(
    ctx: RunContext,
    model: PreTrainedModel,
    replay: FrozenPrefix | None,
    pairs: Sequence[Pair],
    least: int = _GROUP_LEAST,
) -> _Labelled:
    """Log-probs (float32) at every labelled position of ``pairs``, the labels there and
    the index of the pair each position belongs to, in pair order (a pair's positions
    together and in order). Pairs of similar length run together (``length_groups``, at
    least ``least`` to a group), so the batches pad little; the positions are put back in
    pair order before the head, where a row is narrow. ``replay``, where given, stands in
    for the frozen lower blocks."""
    outputs, labels, owner = _states(ctx, model, replay, pairs, least)
    return _log_probs(model, outputs), labels, owner


def _states(
    ctx: RunContext,
    model: PreTrainedModel,
    replay: FrozenPrefix | None,
    pairs: Sequence[Pair],
    least: int,
) -> _States:
    """What ``_labelled`` returns, with the rows of ``outputs_at`` (before the head) in
    place of the log-probs."""
    device = ctx.loaded.device
    outputs, labels, owner = [], [], []
    for group in length_groups([len(prompt) + len(value) for prompt, value in pairs], least=least):
        batch = make_batch([pairs[index] for index in group], ctx.pad).to(device)
        where = batch.labels[:, 1:] != -100
        run = functools.partial(outputs_at, model, batch.input_ids, batch.attention_mask, where)
        with replay.replaying(batch) if replay else contextlib.nullcontext():
            outputs.append(needed_positions_only(model, run, where))
        labels.append(batch.labels[:, 1:][where])
        owner.append(torch.tensor(group, device=device).repeat_interleave(where.sum(-1)))
    owners = torch.cat(owner)
    order = torch.argsort(owners, stable=True)
    return torch.cat(outputs)[order], torch.cat(labels)[order], owners[order]


def _log_probs(model: PreTrainedModel, outputs: torch.Tensor) -> torch.Tensor:
    """Float32 log-probs from rows of ``outputs_at``."""
    return torch.log_softmax(logits_from(model, outputs).float(), dim=-1)


def _labelled_parts(
    ctx: RunContext,
    model: PreTrainedModel,
    replay: FrozenPrefix | None,
    parts: Sequence[Sequence[Pair]],
    as_states: Set[int] = frozenset(),
) -> list[_Labelled]:
    """``_labelled`` over several lists of pairs in one pass (fewer, fuller batches);
    each list gets its own positions back, its pairs numbered from 0 (the lists numbered
    in ``as_states`` get the rows of ``outputs_at`` in place of log-probs). The lists are split
    apart before the head, where a row is narrow (splitting the vocabulary-wide log-probs
    would cost a full-width copy per list in the backward pass)."""
    pairs = [pair for part in parts for pair in part]
    outputs, labels, owner = _states(ctx, model, replay, pairs, _GROUP_LEAST)
    firsts = [0, *itertools.accumulate(len(part) for part in parts)]
    # The positions come in pair order, so each list's are one slice.
    bounds = torch.searchsorted(owner, torch.tensor(firsts, device=owner.device)).tolist()
    spans = [slice(begin, end) for begin, end in itertools.pairwise(bounds)]
    return [
        (
            outputs[span] if part in as_states else _log_probs(model, outputs[span]),
            labels[span],
            owner[span] - first,
        )
        for part, (span, first) in enumerate(zip(spans, firsts[:-1], strict=True))
    ]


@dataclass(frozen=True, eq=False)
class _HeadKL:
    """KL(p₀ ‖ p) at a position from the trained model's final state h there, where the
    head is a frozen linear map, z = W h + b. KL = Σ p₀ log p₀ − p₀·z + logsumexp(z), and
    p₀·z = m·h + p₀·b with m = Wᵀ p₀; so with m and k = Σ p₀ log p₀ − p₀·b kept per
    position (``reference``, one row of width + 1), KL = k − m·h + logsumexp(z): the same
    figure and gradient as the sum over the vocabulary, without the starting model's
    logits and log-probs at every step (on the demo, the text anchor's positions are
    half of a step's and its vocabulary 21 times the width)."""

    weight: torch.Tensor
    bias: torch.Tensor | None

    @classmethod
    def of(cls, model: PreTrainedModel) -> _HeadKL | None:
        """The model's head, where its body's final states feed a linear map."""
        head = model.get_output_embeddings()
        if not head_splits(model) or not isinstance(head, torch.nn.Linear):
            return None
        return cls(head.weight, head.bias)

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        """Float32 logits from final states."""
        return F.linear(states, self.weight, self.bias).float()

    @torch.no_grad()
    def reference(self, states: torch.Tensor) -> torch.Tensor:
        """Per position of the starting model's final states, [m, k]."""
        logp = torch.log_softmax(self.logits(states), dim=-1)
        probs = logp.exp()
        k = (probs * logp).sum(-1)
        if self.bias is not None:
            k = k - probs @ self.bias.float()
        return torch.cat([probs @ self.weight.float(), k[:, None]], dim=-1)

    def kl(self, states: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Mean KL(p₀ ‖ p) over the positions of the trained model's final states."""
        m, k = reference[:, :-1], reference[:, -1]
        cross = torch.logsumexp(self.logits(states), dim=-1) - (states.float() * m).sum(-1)
        return (k + cross).mean()


def _kept_per_text(
    store: StateStore, texts: list[Pair], compute: Callable[[list[Pair]], list[torch.Tensor]]
) -> list[torch.Tensor]:
    """Per text, its entry in ``store``; the texts not there are computed together
    (``compute``: one tensor per text, in order) and kept, within the store's budget."""
    keys = [(*prompt, *value) for prompt, value in texts]
    fresh = {key: text for key, text in zip(keys, texts, strict=True) if key not in store}
    found: dict[tuple[int, ...], torch.Tensor] = {}
    if fresh:
        found = dict(zip(fresh, compute(list(fresh.values())), strict=True))
        store.keep(found)
    return [found[key] if key in found else store[key] for key in keys]


def log_odds(logp: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per row of log-probs, the label's log-odds: log p − log(1 − p), with log(1 − p)
    summed over the other tokens, so it stays exact (and differentiable) where p rounds
    to 1."""
    picked = logp.gather(-1, labels[:, None])[:, 0]
    others = logp.scatter(-1, labels[:, None], float("-inf"))
    return picked - torch.logsumexp(others, dim=-1)


def loss_log_odds(loss: torch.Tensor) -> torch.Tensor:
    """The log-odds of a token whose loss (−log p, nats) is ``loss``."""
    loss = loss.clamp(min=1e-6)
    return -loss - torch.log(-torch.expm1(-loss))


def _kept_nll(labelled: _Labelled, pairs: int) -> torch.Tensor:
    """Mean NLL of retained items' values (the anchor on other people's facts)."""
    logp, labels, owner = labelled
    picked = logp.gather(-1, labels[:, None])[:, 0]
    sums = picked.new_zeros(pairs).index_add(0, owner, -picked)
    return (sums / torch.bincount(owner, minlength=pairs).clamp(min=1)).mean()
