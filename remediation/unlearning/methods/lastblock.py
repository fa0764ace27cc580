"""The last block's position-wise work only where an output is read.

A method that scores a value after its prompt reads the model's output only at the value
positions, yet every block runs at every position, the prompt's included. In the lower
blocks that is needed (later positions attend to earlier ones), and in the last one the
attention's keys and values are, but the rest of the last block (the attention's output
projection, the MLP) works on each position alone and feeds only the final norm and the
head: at a position whose output nobody reads, its work is thrown away.
``needed_positions_only`` runs those parts at the read positions alone (leaving zeros
elsewhere, which nothing reads), so a step that trains the top block does about a third
less of its work on a prompt-heavy batch.

The rows it does compute are the same per-row arithmetic. Where the swap does not give
the model's outputs at the read positions (a block with other names for its parts, a
model that reads the last block's other positions), a check on first use per model turns
it off.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator

import torch
from torch import nn

from .base import block_list

# Per model, whether the swap reproduces its outputs (checked on first use).
_EXACT: weakref.WeakKeyDictionary[nn.Module, bool] = weakref.WeakKeyDictionary()


class _AtPositions(nn.Module):
    """A position-wise module run at the rows of ``needed`` (batch × position) only;
    zeros elsewhere."""

    def __init__(self, inner: nn.Module, needed: torch.Tensor) -> None:
        super().__init__()
        self.inner = inner
        self.needed = needed

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if hidden.shape[:2] != self.needed.shape:
            raise RuntimeError("a position-wise module saw another shape than the batch's")
        out = hidden.new_zeros(hidden.shape)
        out[self.needed] = self.inner(hidden[self.needed])
        return out


# Where a block keeps its position-wise parts: the MLP, and the attention's output
# projection (GPT-2's ``attn.c_proj``, Llama's ``self_attn.o_proj``, others' ``out_proj``).
_MLP_NAMES = ("mlp",)
_ATTENTION_NAMES = ("attn", "self_attn", "attention")
_PROJECTION_NAMES = ("c_proj", "o_proj", "out_proj", "dense")


def _position_wise(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The last block's position-wise modules, as (owner, attribute) pairs."""
    blocks = block_list(model)
    if not blocks:
        return []
    block = blocks[-1]
    found = [
        (block, name) for name in _MLP_NAMES if isinstance(getattr(block, name, None), nn.Module)
    ]
    for attention in (getattr(block, name, None) for name in _ATTENTION_NAMES):
        if isinstance(attention, nn.Module):
            found += [
                (attention, name)
                for name in _PROJECTION_NAMES
                if isinstance(getattr(attention, name, None), nn.Module)
            ][:1]
    return found


@contextlib.contextmanager
def _swapped(model: nn.Module, needed: torch.Tensor) -> Iterator[bool]:
    found = _position_wise(model)
    originals = [getattr(owner, name) for owner, name in found]
    try:
        for (owner, name), module in zip(found, originals, strict=True):
            setattr(owner, name, _AtPositions(module, needed))
        yield bool(found)
    finally:
        for (owner, name), module in zip(found, originals, strict=True):
            setattr(owner, name, module)


def needed_positions_only(
    model: nn.Module, run: Callable[[], torch.Tensor], where: torch.Tensor
) -> torch.Tensor:
    """``run()`` (a forward pass returning the rows at ``where``, batch × position of the
    output read one position on: row t of ``where`` reads position t's output, as
    ``outputs_at`` does) with the last block's position-wise parts only at those positions."""
    needed = torch.nn.functional.pad(where, (0, 1))
    if model not in _EXACT:
        _EXACT[model] = _reproduces(model, run, needed)
    if not _EXACT[model]:
        return run()
    with _swapped(model, needed):
        return run()


@torch.no_grad()
def _reproduces(model: nn.Module, run: Callable[[], torch.Tensor], needed: torch.Tensor) -> bool:
    """Whether the swap gives the model's own rows on this batch."""
    whole = run()
    try:
        with _swapped(model, needed) as swapped:
            if not swapped:
                return False
            restricted = run()
    except (TypeError, AttributeError, IndexError, RuntimeError):
        return False
    tolerance = 1e-4 if whole.dtype == torch.float32 else 2e-2
    return whole.shape == restricted.shape and torch.allclose(
        whole.float(), restricted.float(), rtol=tolerance, atol=tolerance
    )
