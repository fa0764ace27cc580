"""The default method's set-up, text anchor and settling: each item's never-seen level
comes from one candidate of its value's length (the only one scored), familiar to the
retained data where the value is; the starting model's states over a retained text are
computed once and kept; the learning rate falls over the settling steps."""

from __future__ import annotations

import copy
import random

import pytest
import torch

from remediation.unlearning.demo import DemoData, items_of
from remediation.unlearning.formats import candidates
from remediation.unlearning.methods import rewrite
from remediation.unlearning.methods.base import RunContext, optimise
from remediation.unlearning.methods.rewrite import (
    RewriteSettings,
    _Plan,
    _profile_of,
    _scored_candidates,
    familiar_tokens,
    never_seen_levels,
)
from remediation.unlearning.modelio import LoadedModel
from remediation.unlearning.scoring import (
    Pair,
    encode_pair,
    encode_texts,
    item_pairs,
    logits_at,
    make_batch,
    moments,
    outputs_at,
    pad_id,
)


def _alone_profile(loaded: LoadedModel, pair: Pair) -> torch.Tensor:
    """Loss, μ and σ at each value token of one pair, run on its own."""
    batch = make_batch([pair], pad_id(loaded.tokenizer))
    where = batch.labels[:, 1:] != -100
    with torch.no_grad():
        logits = logits_at(loaded.model, batch.input_ids, batch.attention_mask, where)
    picked, mu, sigma = moments(torch.log_softmax(logits, dim=-1), batch.labels[:, 1:][where])
    return torch.stack([-picked, mu, sigma], dim=-1)


def _alone_states(loaded: LoadedModel, pair: Pair) -> torch.Tensor:
    """The final states at one pair's labelled positions, run on its own."""
    batch = make_batch([pair], pad_id(loaded.tokenizer))
    where = batch.labels[:, 1:] != -100
    with torch.no_grad():
        return outputs_at(loaded.model, batch.input_ids, batch.attention_mask, where)


def _context(loaded: LoadedModel, data: DemoData) -> RunContext:
    people = data.trained[:2]
    return RunContext(
        loaded,
        items_of(people),
        data.retain_texts(people),
        seed=0,
        retain_items=items_of(data.trained[2:4]),
    )


def test_one_candidate_of_the_values_length_is_scored_or_else_all() -> None:
    # given candidates whose values are two, one and two tokens long, every token familiar
    pool: list[Pair] = [([1], [2, 3]), ([1], [4]), ([1], [5, 6])]
    familiar = {2, 3, 4, 5, 6}
    # then for a two-token value one of the two-token candidates is scored, the same one
    # under the same seed
    chosen = _scored_candidates(pool, [True, True], familiar, seed=7)
    assert chosen in ([pool[0]], [pool[2]])
    assert _scored_candidates(pool, [True, True], familiar, seed=7) == chosen
    picks = {tuple(_scored_candidates(pool, [True, True], familiar, s)[0][1]) for s in range(20)}
    assert picks == {(2, 3), (5, 6)}
    # and for a length none has, every candidate is
    assert _scored_candidates(pool, [True] * 5, familiar, seed=7) == pool


def test_the_scored_candidate_is_unfamiliar_where_the_value_is() -> None:
    # given three-token candidates: none, the last and the first token unfamiliar
    pool: list[Pair] = [([1], [2, 3, 4]), ([1], [2, 3, 9]), ([1], [9, 3, 4]), ([1], [8])]
    familiar = {2, 3, 4, 8}
    # then a value whose last token is unfamiliar gets the candidate unfamiliar there alone
    for seed in range(10):
        assert _scored_candidates(pool, [True, True, False], familiar, seed) == [pool[1]]
        assert _scored_candidates(pool, [False, True, True], familiar, seed) == [pool[2]]
    # and where none matches fully, the closest ones are drawn from (two of three agree)
    picks = {
        tuple(_scored_candidates(pool, [False, True, False], familiar, s)[0][1]) for s in range(30)
    }
    assert picks == {(2, 3, 9), (9, 3, 4)}


def test_familiar_tokens_are_those_of_the_retained_texts_and_items(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given a run that forgets two people and keeps other texts and items
    ctx = _context(tiny, tiny_data)
    familiar = familiar_tokens(ctx)
    # then every token of the retained texts and items is familiar
    texts = {t for ids, _ in encode_texts(tiny.tokenizer, ctx.retain_texts) for t in ids}
    items = {t for p, v in item_pairs(tiny.tokenizer, ctx.retain_items) for t in (*p, *v)}
    assert familiar == texts | items
    # and some token of the forgotten values is not (it occurs only in their records)
    forgotten = {t for _, value in item_pairs(tiny.tokenizer, ctx.forget) for t in value}
    assert forgotten - familiar


def test_without_a_candidate_of_that_length_each_position_gets_the_mean() -> None:
    # given the profiles of two candidates of other lengths
    rows = [torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]), torch.tensor([[5.0, 6.0, 7.0]])]
    # then a four-token value gets their per-token mean at each position
    profile = _profile_of(rows, 4)
    assert profile.shape == (4, 3)
    assert torch.equal(profile, torch.tensor([[3.0, 4.0, 5.0]]).expand(4, 3))
    # and one candidate of the right length is its own profile
    assert _profile_of(rows[:1], 2) is rows[0]


def test_each_level_is_the_profile_of_one_never_seen_value_of_that_length(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given the forget items of two people, asked about themselves (no stand-in)
    ctx = _context(tiny, tiny_data)
    settings = RewriteSettings()
    # when their levels are measured
    levels, _ = never_seen_levels(ctx, [[] for _ in ctx.forget], settings)
    # then each item's level is what one of its candidates of the same length scores alone
    for index, (item, level) in enumerate(zip(ctx.forget, levels, strict=True)):
        length = len(encode_pair(tiny.tokenizer, item.prompt, item.target)[1])
        assert level.shape == (length, 3)
        pool = candidates(
            item.target, item.kind, settings.level_candidates, random.Random(ctx.seed + index)
        )
        pairs = [encode_pair(tiny.tokenizer, item.prompt, value) for value in pool]
        same = [_alone_profile(tiny, pair) for pair in pairs if len(pair[1]) == length]
        if same:
            assert any(torch.allclose(level, other, atol=1e-4) for other in same)
        else:
            mean = torch.cat([_alone_profile(tiny, pair) for pair in pairs]).mean(0)
            assert torch.allclose(level, mean.expand(length, 3), atol=1e-4)


@pytest.mark.parametrize("budget", [rewrite.STORE_BUDGET, 0])
def test_the_starting_models_text_states_are_computed_once_and_stay_its_own(
    tiny: LoadedModel, tiny_data: DemoData, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    # given a run's plan on a copy of the model, too short to compute its texts ahead,
    # and six of its retained texts
    monkeypatch.setattr(rewrite, "STORE_BUDGET", budget)
    work = LoadedModel(copy.deepcopy(tiny.model), tiny.tokenizer, tiny.device, None)
    plan = _Plan(_context(work, tiny_data), RewriteSettings(min_steps=1, text_batch_size=1))
    assert not plan.text_states
    texts = plan.texts[:6]
    # when the first four are asked for, the trained model moves, and four more are
    first = plan._starting_states(texts[:4])
    with torch.no_grad():
        for param in work.model.parameters():
            param.add_(0.05)
    second = plan._starting_states(texts[2:])
    # then every text's states are the starting model's, run alone
    for text, states in zip(texts[:4] + texts[4:], first + second[2:], strict=True):
        assert torch.allclose(states, _alone_states(tiny, text), atol=1e-4)
    # and within the budget a text asked for again is not run again
    if budget:
        assert second[0] is first[2] and second[1] is first[3]
        assert len(plan.text_states) == 6 and plan.text_states.bytes > 0
    else:
        assert not plan.text_states and plan.text_states.bytes == 0
        assert torch.allclose(second[0], first[2], atol=1e-5)


def test_a_plan_computes_ahead_the_states_its_steps_will_draw(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given a run's plan on a copy of the model, whose shortest run draws nearly every row
    work = LoadedModel(copy.deepcopy(tiny.model), tiny.tokenizer, tiny.device, None)
    plan = _Plan(_context(work, tiny_data), RewriteSettings())
    rows = [r.pair for r in plan.rows] + [r.pair for r in plan.contrast]
    # then before any step the lower blocks' states of every forget, contrast and
    # retained row and text are stored
    wanted = {(*p, *v) for p, v in [*rows, *plan.kept, *plan.texts]}
    assert plan.contrast and wanted <= plan.prefix.states.keys()
    # and the starting model's states over every text, as it gives them run alone
    assert len(plan.text_states) == len({(*p, *v) for p, v in plan.texts})
    for text in plan.texts[:5]:
        assert torch.allclose(
            plan._starting_states([text])[0], _alone_states(tiny, text), atol=1e-4
        )
    # while a plan whose shortest run draws one text, once, leaves the texts to the steps
    short = _Plan(_context(work, tiny_data), RewriteSettings(min_steps=1, text_batch_size=1))
    assert not short.text_states
    assert not {(*p, *v) for p, v in short.texts} <= short.prefix.states.keys()


def test_the_learning_rate_falls_over_the_settling_steps(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given a plan with 4 settling steps and a floor of a tenth
    settings = RewriteSettings(settle_steps=4, min_steps=0, settle_lr=0.1)
    plan = _Plan(_context(tiny, tiny_data), settings)
    # then until every item is done the full rate runs
    assert plan.lr_scale(3) == 1.0
    # and once done at step 10 (stop at 14), it falls linearly to the floor at the last step
    plan.pending.clear()
    assert not plan.at_level(10)
    scales = [plan.lr_scale(step) for step in range(11, 15)]
    assert scales == pytest.approx([0.775, 0.55, 0.325, 0.1])
    assert plan.at_level(14)


def test_optimise_runs_each_step_at_its_share_of_the_learning_rate(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given one weight of a copy of the model and a loss that always pulls it down
    work = LoadedModel(copy.deepcopy(tiny.model), tiny.tokenizer, tiny.device, None)
    ctx = _context(work, tiny_data)
    weight = next(work.model.parameters())
    seen: list[torch.Tensor] = []

    def loss(_step: int) -> tuple[torch.Tensor, dict[str, float]]:
        seen.append(weight.detach().clone())
        return weight.sum(), {}

    # when three steps run at the full rate, then none, then half of it
    scales = {1: 1.0, 2: 0.0, 3: 0.5}
    optimise(ctx, [weight], RewriteSettings(lr=1e-2), 3, loss, lr_scale=scales.__getitem__)
    seen.append(weight.detach().clone())
    # then the first step moves it by the rate (Adam's first step is lr per element), the
    # second not at all and the third by at most half the rate
    assert torch.allclose(seen[0] - seen[1], torch.full_like(seen[0], 1e-2), atol=1e-5)
    assert torch.equal(seen[1], seen[2])
    assert 0 < float((seen[2] - seen[3]).max()) <= 0.5e-2 + 1e-6


def test_contrast_rows_ask_for_the_level_candidate_about_the_person_and_the_stand_in(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given a run's plan for two people's items
    ctx = _context(tiny, tiny_data)
    plan = _Plan(ctx, RewriteSettings())
    tokenizer = tiny.tokenizer
    assert plan.contrast
    for index, item in enumerate(ctx.forget):
        own = [row for row in plan.contrast if row.item == index]
        levels = next(row.levels for row in plan.rows if row.item == index)
        value = encode_pair(tokenizer, item.prompt, item.target)[1]
        # then each of an item's contrast rows asks for one other value, with its levels
        assert len({tuple(row.pair[1]) for row in own}) <= 1
        for row in own:
            assert row.levels is levels and row.pair[1] != value
        asked_about = [item.subject in tokenizer.decode(row.pair[0]) for row in own]
        if own:
            # and all but one ask about the person; the last asks about the stand-in, where
            # the level was measured: that row scores its own levels under the start model
            assert asked_about[:-1] == [True] * (len(own) - 1) and not asked_about[-1]
            assert torch.allclose(_alone_profile(tiny, own[-1].pair), levels, atol=1e-4)


def test_no_contrast_rows_go_into_a_step_when_switched_off(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given a plan without contrast rows in its batches
    plan = _Plan(_context(tiny, tiny_data), RewriteSettings(contrast_batch_size=0))
    # when a step's loss is computed, then nothing is measured for them
    _, metrics = plan.loss(0)
    assert "contrast" not in metrics and "gap" in metrics
    # while by default they are
    _, metrics = _Plan(_context(tiny, tiny_data), RewriteSettings()).loss(0)
    assert metrics["contrast"] > 0


def test_tokens_are_aimed_past_their_level_by_the_offset(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given the stand-in rows of a plan, which sit exactly at their levels under the start
    ctx = _context(tiny, tiny_data)
    gaps = []
    for offset in (0.0, 0.5):
        plan = _Plan(ctx, RewriteSettings(level_offset=offset))
        strangers = [
            row
            for row in plan.contrast
            if ctx.forget[row.item].subject not in tiny.tokenizer.decode(row.pair[0])
        ]
        assert strangers
        labelled = rewrite._labelled(ctx, tiny.model, None, [row.pair for row in strangers])
        # when their distance to the levels is measured
        gaps.append(float(plan._gap(strangers, labelled).detach()))
        # then what the stop rule reads is their shortfall to the level itself: none
        for row in strangers:
            below, count = plan.measured[row]
            assert abs(below) / count < 1e-3
    # and the pull is towards the level plus the offset: none at 0, some at 0.5
    assert gaps[0] < 1e-4 < 1e-2 < gaps[1]
