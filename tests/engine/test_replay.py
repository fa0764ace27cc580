"""Shortcuts that must not change a figure: the head at labelled positions only, the
replay of frozen lower blocks (shared with a frozen copy), batches grouped by length, and
the last block's position-wise parts at the read positions only."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import torch

from remediation.unlearning.demo import DemoData, items_of
from remediation.unlearning.methods import lastblock
from remediation.unlearning.methods.base import RunContext, block_list, block_parameters
from remediation.unlearning.methods.lastblock import needed_positions_only
from remediation.unlearning.methods.replay import FrozenPrefix
from remediation.unlearning.methods.rewrite import _labelled, _labelled_parts
from remediation.unlearning.modelio import LoadedModel
from remediation.unlearning.runner import remediate
from remediation.unlearning.scoring import (
    Batch,
    encode_prompt,
    item_pairs,
    length_groups,
    logits_at,
    make_batch,
    outputs_at,
    pad_id,
)
from remediation.unlearning.verification import extraction_rate


@pytest.fixture(scope="module")
def batch(tiny: LoadedModel, tiny_data: DemoData) -> Batch:
    """Items of different lengths, right-padded, with labels on their values."""
    items = items_of(tiny_data.trained[:2])
    return make_batch(item_pairs(tiny.tokenizer, items), pad_id(tiny.tokenizer))


def _full_logits(model: Any, batch: Batch) -> torch.Tensor:
    return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits


@torch.no_grad()
def test_head_at_labelled_positions_gives_the_models_logits(
    tiny: LoadedModel, batch: Batch
) -> None:
    # given the labelled positions of a padded batch
    where = batch.labels[:, 1:] != -100
    # when the head runs at those positions only
    picked = logits_at(tiny.model, batch.input_ids, batch.attention_mask, where)
    # then they are the whole model's logits there, in order
    expected = _full_logits(tiny.model, batch)[:, :-1][where]
    assert picked.shape == (int(where.sum()), tiny.model.config.vocab_size)
    assert torch.allclose(picked, expected, atol=1e-5)


@torch.no_grad()
def test_a_head_that_is_not_the_whole_story_falls_back_to_the_model(
    tiny: LoadedModel, batch: Batch
) -> None:
    # given a model whose logits are scaled after its head (as some architectures do)
    model = copy.deepcopy(tiny.model)
    plain_forward = model.forward

    def scaled(*args: Any, **kwargs: Any) -> Any:
        out = plain_forward(*args, **kwargs)
        out.logits = out.logits * 0.5
        return out

    model.forward = scaled  # type: ignore[method-assign]
    where = batch.labels[:, 1:] != -100
    # when logits are asked for at the labelled positions
    picked = logits_at(model, batch.input_ids, batch.attention_mask, where)
    # then they are the model's own (scaled) logits, not the head's
    assert torch.allclose(picked, _full_logits(model, batch)[:, :-1][where], atol=1e-5)


def test_length_groups_hold_every_row_once_and_pad_little() -> None:
    # given rows of very different lengths, in no order
    lengths = [30, 4, 5, 31, 6, 29, 4, 60, 5, 32]
    # when they are grouped (at least 2 rows a group, growing at most 1.5 times)
    groups = length_groups(lengths, growth=1.5, least=2)
    # then every row is in exactly one group, shortest first
    assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
    assert [[lengths[i] for i in group] for group in groups] == [
        [4, 4, 5, 5, 6],
        [29, 30, 31, 32],
        [60],
    ]


@torch.no_grad()
def test_grouped_pass_gives_each_row_its_own_log_probs(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given items and whole texts (more than one length group), and a replaying prefix
    items = items_of(tiny_data.trained[:4])
    texts = [encode_prompt(tiny.tokenizer, text) for text in tiny_data.retain_texts([])[:8]]
    pairs = item_pairs(tiny.tokenizer, items) + [(ids[:1], ids[1:]) for ids in texts]
    ctx = RunContext(tiny, items, [], seed=0)
    prefix = FrozenPrefix(tiny.model, 2)
    assert len(length_groups([len(p) + len(v) for p, v in pairs])) > 1
    # when they run in length groups
    logp, labels, owner = _labelled(ctx, tiny.model, prefix, pairs)
    # then the positions come back in pair order
    assert torch.equal(owner, torch.sort(owner).values)
    # and, pair by pair, the log-probs and labels are those of the pair on its own
    for index, pair in enumerate(pairs):
        alone = make_batch([pair], pad_id(tiny.tokenizer))
        where = alone.labels[:, 1:] != -100
        logits = logits_at(tiny.model, alone.input_ids, alone.attention_mask, where)
        expected = torch.log_softmax(logits, dim=-1)
        mine = owner == index
        assert torch.equal(labels[mine], alone.labels[:, 1:][where])
        assert torch.allclose(logp[mine], expected, atol=1e-4)


@torch.no_grad()
def test_lists_run_together_give_each_list_its_own_positions(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given two lists of item pairs and a list of texts, of lengths that mix in groups
    items = item_pairs(tiny.tokenizer, items_of(tiny_data.trained[:4]))
    texts = [encode_prompt(tiny.tokenizer, text) for text in tiny_data.retain_texts([])[:6]]
    parts = [items[:7], items[7:], [(ids[:1], ids[1:]) for ids in texts]]
    ctx = RunContext(tiny, items_of(tiny_data.trained[:4]), [], seed=0)
    prefix = FrozenPrefix(tiny.model, 2)
    # when they run in one pass
    together = _labelled_parts(ctx, tiny.model, prefix, parts)
    # then each list gets what it gets on its own, its pairs numbered from 0
    for part, (logp, labels, owner) in zip(parts, together, strict=True):
        alone_logp, alone_labels, alone_owner = _labelled(ctx, tiny.model, prefix, part)
        assert torch.equal(owner, alone_owner)
        assert torch.equal(labels, alone_labels)
        assert torch.allclose(logp, alone_logp, atol=1e-4)


@torch.no_grad()
def test_replayed_lower_blocks_give_the_same_logits(tiny: LoadedModel, batch: Batch) -> None:
    # given the tiny model's blocks, the lower two frozen and stored
    blocks = block_list(tiny.model)
    assert blocks is not None and len(blocks) == 3
    prefix = FrozenPrefix(tiny.model, 2)
    expected = _full_logits(tiny.model, batch)
    # when the batch runs twice from the stored states
    for _ in range(2):
        with prefix.replaying(batch):
            replayed = _full_logits(tiny.model, batch)
        # then the logits are the whole model's at every real position
        real = batch.attention_mask.bool()
        assert torch.allclose(replayed[real], expected[real], atol=1e-5)
    # and each sequence was run through the lower blocks once, which are back in place
    assert prefix.enabled and len(prefix.states) == batch.input_ids.shape[0]
    assert all(type(block).__name__ == "GPT2Block" for block in blocks)


@torch.no_grad()
def test_a_frozen_copy_replays_from_the_same_store(tiny: LoadedModel, batch: Batch) -> None:
    # given a prefix of the model, and a copy whose top block has moved
    prefix = FrozenPrefix(tiny.model, 2)
    copied = copy.deepcopy(tiny.model)
    top = block_list(copied)
    assert top is not None
    for parameter in top[2].parameters():
        parameter.add_(0.05)
    shared = prefix.for_copy(copied)
    # when the model replays the batch, then the copy does
    with prefix.replaying(batch):
        _full_logits(tiny.model, batch)
    stored = dict(prefix.states)
    with shared.replaying(batch):
        replayed = _full_logits(copied, batch)
    # then the copy gets its own logits from the states the model stored, computing none
    real = batch.attention_mask.bool()
    assert torch.allclose(replayed[real], _full_logits(copied, batch)[real], atol=1e-5)
    assert shared.states is prefix.states and prefix.states.keys() == stored.keys()
    assert all(prefix.states[key] is stored[key] for key in stored)
    assert shared.enabled and prefix.store.bytes > 0


@torch.no_grad()
def test_states_computed_ahead_are_the_ones_a_batch_would_compute(
    tiny: LoadedModel, tiny_data: DemoData, batch: Batch
) -> None:
    # given the pairs of several people's items, longer and shorter, some listed twice
    pairs = item_pairs(tiny.tokenizer, items_of(tiny_data.trained[:4]))
    ahead = FrozenPrefix(tiny.model, 2)
    lazy = FrozenPrefix(tiny.model, 2)
    # when one prefix computes every sequence's states ahead, in groups of at least 3
    ahead.prepare([*pairs, *pairs[:3]], pad_id(tiny.tokenizer), least=3)
    # then it holds one entry per distinct sequence
    assert len(ahead.states) == len({(*p, *v) for p, v in pairs}) > 3
    # and they are the states a replayed batch computes, within batch-shape rounding
    with lazy.replaying(batch):
        pass
    assert lazy.states and lazy.states.keys() <= ahead.states.keys()
    for key, states in lazy.states.items():
        assert torch.allclose(ahead.states[key], states, atol=1e-5)
    # and replaying a batch of them computes nothing more, giving the model's logits
    stored = dict(ahead.states)
    with ahead.replaying(batch):
        replayed = _full_logits(tiny.model, batch)
    real = batch.attention_mask.bool()
    assert torch.allclose(replayed[real], _full_logits(tiny.model, batch)[real], atol=1e-5)
    assert ahead.states.keys() == stored.keys()
    assert all(ahead.states[key] is stored[key] for key in stored)


@torch.no_grad()
def test_replay_holds_for_a_bf16_model(tiny: LoadedModel, batch: Batch) -> None:
    # given the tiny model in bf16, as it would run on a GPU
    model = copy.deepcopy(tiny.model).to(torch.bfloat16)
    prefix = FrozenPrefix(model, 2)
    # when a batch is replayed
    with prefix.replaying(batch):
        replayed = _full_logits(model, batch)
    # then replay stayed on and gives the model's logits within bf16 rounding
    real = batch.attention_mask.bool()
    expected = _full_logits(model, batch)[real].float()
    assert prefix.enabled
    assert torch.allclose(replayed[real].float(), expected, atol=5e-2, rtol=5e-2)


@torch.no_grad()
def test_past_its_budget_replay_computes_states_for_the_batch_only(
    tiny: LoadedModel, batch: Batch
) -> None:
    # given a prefix with no room to store anything
    prefix = FrozenPrefix(tiny.model, 2, budget=0)
    # when a batch is replayed
    with prefix.replaying(batch):
        replayed = _full_logits(tiny.model, batch)
    # then the logits are still the model's, and nothing was kept
    real = batch.attention_mask.bool()
    assert torch.allclose(replayed[real], _full_logits(tiny.model, batch)[real], atol=1e-5)
    assert prefix.enabled and not prefix.states and prefix.store.bytes == 0


def test_replay_is_off_without_a_block_list(batch: Batch) -> None:
    # given a model with no recognisable list of blocks
    model = torch.nn.Linear(2, 2)
    # when a prefix is asked for, then it stays off and leaves the model alone
    prefix = FrozenPrefix(model, 1)
    with prefix.replaying(batch):
        assert not prefix.enabled
    assert block_list(model) is None


def test_last_blocks_only(tiny: LoadedModel) -> None:
    # given / when the last block's parameters are asked for (block 2 of 0..2)
    last = {id(p) for p in block_parameters(tiny.model, first=2)}
    every = block_parameters(tiny.model)
    # then they are that block's own, a third of all block parameters here
    named = {id(p): name for name, p in tiny.model.named_parameters()}
    assert last and all(".2." in named[i] for i in last)
    assert len(last) * 3 == len(every)


def test_training_the_last_block_forgets_and_leaves_the_rest(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given a person to forget, the others to keep
    person = tiny_data.trained[:1]
    kept = items_of(tiny_data.others(person))
    retain = [*tiny_data.retain_texts(person, generic=16), *kept]
    # when the default method trains only the last block (the lower ones replayed)
    result = remediate(tiny, items_of(person), retain, "rewrite", {})
    # then the person's values are gone, and only the last block's weights moved
    assert extraction_rate(result.loaded, items_of(person)) == 0.0
    before, after = dict(tiny.model.named_parameters()), dict(result.model.named_parameters())
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert moved and all(".h.2." in name for name in moved)


def _value_rows(model: Any, batch: Batch, where: torch.Tensor) -> torch.Tensor:
    return outputs_at(model, batch.input_ids, batch.attention_mask, where)


def test_the_last_block_at_read_positions_only_gives_the_same_rows_and_gradients(
    tiny: LoadedModel, batch: Batch
) -> None:
    # given a copy of the tiny model whose top block trains, and the value positions read
    model = copy.deepcopy(tiny.model)
    where = batch.labels[:, 1:] != -100
    assert int(where.sum()) < where.numel() // 2  # the prompts are most of the batch
    top = list(block_list(model)[-1].parameters())  # type: ignore[index]

    def rows_and_grads(shortcut: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        run = functools.partial(_value_rows, model, batch, where)
        rows = needed_positions_only(model, run, where) if shortcut else run()
        rows.pow(2).sum().backward()
        return rows.detach(), [p.grad.clone() for p in top]  # type: ignore[union-attr]

    # when the rows are computed with the last block's position-wise parts (MLP, attention
    # output) at the read positions only, and without
    rows, grads = rows_and_grads(shortcut=True)
    expected_rows, expected_grads = rows_and_grads(shortcut=False)
    # then the shortcut was on, the rows and the top block's gradients are the same, and
    # the block's parts are back in place
    assert lastblock._EXACT[model] is True
    assert torch.allclose(rows, expected_rows, atol=1e-5)
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(grads, expected_grads, strict=True))
    last = block_list(model)[-1]  # type: ignore[index]
    assert type(last.mlp).__name__ == "GPT2MLP" and type(last.attn.c_proj).__name__ == "Conv1D"


class _RunningMean(torch.nn.Module):
    """A final norm that mixes positions: each is the mean of the states up to it."""

    def __init__(self, norm: torch.nn.Module) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        steps = torch.arange(1, hidden.shape[1] + 1, device=hidden.device)[None, :, None]
        return self.norm(hidden.cumsum(1) / steps)


@torch.no_grad()
def test_a_model_that_reads_the_last_block_elsewhere_runs_whole(
    tiny: LoadedModel, batch: Batch
) -> None:
    # given a model whose final norm mixes positions, so its outputs at the read positions
    # depend on the last block's MLP at the prompt's positions too
    model = copy.deepcopy(tiny.model)
    model.transformer.ln_f = _RunningMean(model.transformer.ln_f)
    where = batch.labels[:, 1:] != -100
    run = functools.partial(_value_rows, model, batch, where)
    # when the shortcut is asked for
    rows = needed_positions_only(model, run, where)
    # then its check found the rows would change, it is off, and the model ran whole
    assert lastblock._EXACT[model] is False
    assert torch.equal(rows, run())
