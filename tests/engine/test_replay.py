"""Shortcuts that must not change a figure: the head at labelled positions only, and the
replay of frozen lower blocks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from remediation.unlearning.demo import DemoData, items_of
from remediation.unlearning.methods.base import block_list, block_parameters
from remediation.unlearning.methods.replay import FrozenPrefix
from remediation.unlearning.modelio import LoadedModel
from remediation.unlearning.runner import remediate
from remediation.unlearning.scoring import Batch, item_pairs, logits_at, make_batch, pad_id
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
    assert prefix.enabled and not prefix.states and prefix.stored_bytes == 0


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
