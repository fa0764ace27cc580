"""Replay of frozen lower blocks: when only the top blocks train, run the rest once.

A method that trains only the last few transformer blocks sees the same hidden states
enter the first trainable block at every step for a given sequence. ``FrozenPrefix``
computes them once per sequence (stopping the forward pass there) and, while a batch is
replayed, stands in for the lower blocks: the first ones pass their input through, the
last one returns the stored states. The model's own forward runs otherwise unchanged
(embeddings, masks, the trainable blocks, the head), so any code that calls the model
works inside ``replaying``. Where the stand-ins do not reproduce the model's logits (a
model whose loop needs more from its blocks), replay switches itself off and every step
runs the whole model, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from ..scoring import Batch, Pair, head_splits, length_groups, make_batch
from .base import block_list


class _Captured(Exception):
    """Raised by the capture hook to stop the forward pass once the states are in."""

    def __init__(self, states: torch.Tensor) -> None:
        super().__init__()
        self.states = states


class _PassThrough(nn.Module):
    """A lower block during replay: returns its input hidden states."""

    def __init__(self, as_tuple: bool) -> None:
        super().__init__()
        self.as_tuple = as_tuple

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        hidden = args[0] if args else kwargs["hidden_states"]
        return (hidden,) if self.as_tuple else hidden


class _Stored(_PassThrough):
    """The last frozen block during replay: returns the stored states."""

    def __init__(self, states: torch.Tensor, as_tuple: bool) -> None:
        super().__init__(as_tuple)
        self.states = states

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return (self.states,) if self.as_tuple else self.states


# What the stored states may take (bytes): enough for every retained text of the demo
# many times over; past it, new sequences' states are computed for their batch only.
STORE_BUDGET = 1 << 30
# Fewest sequences to a batch when states are computed ahead (``FrozenPrefix.prepare``).
PREPARE_GROUP = 128


class StateStore:
    """States per token sequence, kept while they fit a memory budget in bytes."""

    def __init__(self, budget: int = STORE_BUDGET) -> None:
        self.budget = budget
        self.bytes = 0
        self.states: dict[tuple[int, ...], torch.Tensor] = {}

    def __contains__(self, key: tuple[int, ...]) -> bool:
        return key in self.states

    def __getitem__(self, key: tuple[int, ...]) -> torch.Tensor:
        return self.states[key]

    def __len__(self) -> int:
        return len(self.states)

    def keep(self, fresh: dict[tuple[int, ...], torch.Tensor]) -> None:
        """Store new states, in order, until the next one would pass the budget."""
        for key, states in fresh.items():
            size = states.numel() * states.element_size()
            if self.bytes + size > self.budget:
                return
            self.states[key] = states
            self.bytes += size


class FrozenPrefix:
    """Stored hidden states entering block ``cut``, per token sequence."""

    def __init__(self, model: nn.Module, cut: int, budget: int = STORE_BUDGET) -> None:
        self.model = model
        self.blocks = block_list(model)
        self.cut = cut
        self.store = StateStore(budget)
        self.as_tuple = False
        self.enabled = self.blocks is not None and 0 < cut <= len(self.blocks)
        self.checked = False
        # Settled on the real blocks before any swap: the check runs the model itself.
        head_splits(model)

    def for_copy(self, model: nn.Module) -> FrozenPrefix:
        """The same replay for ``model``, a copy whose lower blocks are this model's (a
        frozen reference): one store, so each sequence's states are computed once for both."""
        other = FrozenPrefix(model, self.cut, self.store.budget)
        other.store = self.store
        return other

    @property
    def states(self) -> dict[tuple[int, ...], torch.Tensor]:
        """The stored states, by the sequence's real tokens."""
        return self.store.states

    @contextlib.contextmanager
    def replaying(self, batch: Batch) -> Iterator[None]:
        """Within the block, the model runs ``batch`` from the stored states."""
        if not self.enabled:
            yield
            return
        states = self._batch_states(batch)
        if not self.checked:
            self.checked = True
            self.enabled = self._reproduces(batch, states)
            if not self.enabled:
                yield
                return
        with self._swapped(states):
            yield

    def prepare(self, pairs: Sequence[Pair], pad: int, least: int = PREPARE_GROUP) -> None:
        """Compute and store the states of every sequence of ``pairs`` not stored yet, in
        batches of ``least`` or more of similar length: a run that will draw nearly all
        of them does the work at once, in full batches, instead of a few fresh rows a step."""
        if not self.enabled:
            return
        fresh = list({(*prompt, *value): (prompt, value) for prompt, value in pairs}.items())
        fresh = [(key, pair) for key, pair in fresh if key not in self.states]
        device = next(self.model.parameters()).device
        for group in length_groups([len(key) for key, _ in fresh], least=least):
            batch = make_batch([fresh[index][1] for index in group], pad).to(device)
            keys = [fresh[index][0] for index in group]
            self.store.keep(self._compute(batch, range(len(group)), keys))

    def _batch_states(self, batch: Batch) -> torch.Tensor:
        keys = _keys(batch)
        missing = [row for row, key in enumerate(keys) if key not in self.states]
        fresh = self._compute(batch, missing, keys) if missing else {}
        rows = [fresh[key] if key in fresh else self.states[key] for key in keys]
        out = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
        # Padded to the batch's width (its longest row may be padding-free but shorter).
        width = batch.input_ids.shape[1]
        if out.shape[1] < width:
            out = torch.nn.functional.pad(out, (0, 0, 0, width - out.shape[1]))
        self.store.keep(fresh)
        return out

    @torch.no_grad()
    def _compute(
        self, batch: Batch, rows: Sequence[int], keys: list[tuple[int, ...]]
    ) -> dict[tuple[int, ...], torch.Tensor]:
        """Run the lower blocks on ``rows``: the states entering block ``cut``, by key."""
        assert self.blocks is not None
        index = torch.tensor(list(rows), device=batch.input_ids.device)
        ids, mask = batch.input_ids[index], batch.attention_mask[index]

        def capture(_module: nn.Module, _inputs: Any, output: Any) -> None:
            self.as_tuple = isinstance(output, tuple)
            raise _Captured(output[0] if self.as_tuple else output)

        handle = self.blocks[self.cut - 1].register_forward_hook(capture)
        try:
            self.model(input_ids=ids, attention_mask=mask)
        except _Captured as captured:
            return {
                keys[row]: captured.states[position, : len(keys[row])].detach().clone()
                for position, row in enumerate(rows)
            }
        finally:
            handle.remove()
        raise RuntimeError("the model never ran its lower blocks")

    @contextlib.contextmanager
    def _swapped(self, states: torch.Tensor) -> Iterator[None]:
        assert self.blocks is not None
        originals = [self.blocks[i] for i in range(self.cut)]
        try:
            for i in range(self.cut - 1):
                self.blocks[i] = _PassThrough(self.as_tuple)
            self.blocks[self.cut - 1] = _Stored(states, self.as_tuple)
            yield
        finally:
            for i, block in enumerate(originals):
                self.blocks[i] = block

    @torch.no_grad()
    def _reproduces(self, batch: Batch, states: torch.Tensor) -> bool:
        """Whether replay gives the whole model's logits on this batch."""
        inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        whole = self.model(**inputs).logits
        try:
            with self._swapped(states):
                replayed = self.model(**inputs).logits
        except (TypeError, AttributeError, KeyError, IndexError, RuntimeError):
            return False
        real = batch.attention_mask.bool()
        # Stored states come from a different batch shape than the check's, so 16-bit
        # models differ in the last bits; float32 ones agree to rounding.
        tolerance = 1e-3 if whole.dtype == torch.float32 else 5e-2
        return torch.allclose(
            whole[real].float(), replayed[real].float(), rtol=tolerance, atol=tolerance
        )


def _keys(batch: Batch) -> list[tuple[int, ...]]:
    """Each row's real tokens (padding dropped): the key of its stored states."""
    lengths = batch.attention_mask.sum(-1).tolist()
    ids = batch.input_ids.tolist()
    return [tuple(row[:length]) for row, length in zip(ids, lengths, strict=True)]
