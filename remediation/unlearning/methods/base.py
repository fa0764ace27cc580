"""What every remediation method shares: settings, the run context, the optimisation loop."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import torch
from torch import nn
from transformers import PreTrainedModel

from ..errors import SettingsError
from ..items import ForgetItem
from ..modelio import LoadedModel
from ..overrides import from_overrides
from ..progress import CancelCheck, ProgressFn, check_cancel, emit
from ..scoring import Batch, Pair, encode_texts, item_pairs, make_batch, pad_id, sequence_nll

T = TypeVar("T")
M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class MethodSettings:
    """Settings every method has. Subclasses add their own, each with a default.

    Defaults are sized for the demo model (a 1M-parameter GPT-2 trained at lr 3e-3); the
    published settings for 1–8B models use lr 1e-5 over 10 epochs, which a caller with a
    large model should pass instead.
    """

    lr: float = 1e-3
    epochs: int = 10
    batch_size: int = 32
    retain_batch_size: int = 32
    max_steps: int = 0
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``SettingsError`` for values the method cannot run with."""
        _require(self.lr > 0, "lr must be positive")
        _require(self.epochs >= 1, "epochs must be at least 1")
        _require(
            self.batch_size >= 1 and self.retain_batch_size >= 1, "batch sizes must be at least 1"
        )
        _require(self.max_steps >= 0, "max_steps must be 0 (no cap) or more")
        _require(self.grad_clip >= 0, "grad_clip must be 0 (off) or more")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MethodSettings:
        """Settings from a dict of overrides; unknown names and wrong types are errors."""
        return from_overrides(cls, data, f"settings for {cls.__name__}")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SettingsError(message)


@dataclass
class RunContext:
    """What a method works with. The model in ``loaded`` is edited in place.

    ``retain_texts`` holds every retained text (items included, as their full text);
    ``retain_items`` the retained entries that came as items, for methods that can use
    where their values are.
    """

    loaded: LoadedModel
    forget: list[ForgetItem]
    retain_texts: list[str]
    seed: int
    progress: ProgressFn | None = None
    should_cancel: CancelCheck | None = None
    retain_items: list[ForgetItem] = field(default_factory=list)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def model(self) -> PreTrainedModel:
        """The model being edited."""
        return self.loaded.model

    @property
    def pad(self) -> int:
        """Padding id of the tokenizer."""
        return pad_id(self.loaded.tokenizer)

    def forget_pairs(self) -> list[Pair]:
        """Prompt and target ids of each forget item."""
        return item_pairs(self.loaded.tokenizer, self.forget)

    def retain_pairs(self) -> list[Pair]:
        """Whole retain texts as (ids, no value): their loss covers every token."""
        return encode_texts(self.loaded.tokenizer, self.retain_texts)


@dataclass
class MethodOutcome:
    """How a method's optimisation went (numbers only)."""

    steps: int
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


class Method(Protocol):
    """A remediation method: a name, a settings class and a ``run``."""

    name: ClassVar[str]
    summary: ClassVar[str]
    settings_type: ClassVar[type[MethodSettings]]

    def run(self, ctx: RunContext, settings: Any) -> MethodOutcome:
        """Edit ``ctx.loaded.model`` in place to forget ``ctx.forget``."""
        ...


def epoch_batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> Iterator[list[Pair]]:
    """Batches of one shuffled pass over ``pairs``."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    for start in range(0, len(order), size):
        yield [pairs[i] for i in order[start : start + size]]


def sample_batch(rows: Sequence[T], size: int, rng: random.Random) -> list[T]:
    """A random batch (without replacement within it)."""
    return rng.sample(list(rows), k=min(size, len(rows)))


def planned_steps(settings: MethodSettings, forget_count: int) -> int:
    """Steps for ``epochs`` passes over the forget items, capped by ``max_steps``."""
    per_epoch = -(-forget_count // settings.batch_size)
    steps = settings.epochs * per_epoch
    return min(steps, settings.max_steps) if settings.max_steps else steps


LossFn = Callable[[int], tuple[torch.Tensor, dict[str, float]]]
StopFn = Callable[[int], bool]
# The share of the settings' learning rate a step runs at.
ScaleFn = Callable[[int], float]


def optimise(
    ctx: RunContext,
    parameters: Sequence[nn.Parameter],
    settings: MethodSettings,
    steps: int,
    loss_fn: LossFn,
    *,
    grad_masks: dict[int, torch.Tensor] | None = None,
    should_stop: StopFn | None = None,
    lr_scale: ScaleFn | None = None,
    phase: str = "remediate",
) -> MethodOutcome:
    """AdamW over ``parameters`` for up to ``steps`` steps of ``loss_fn``.

    Checks cancellation before each step (never inside one), reports progress after it,
    zeroes gradients outside ``grad_masks`` (keyed by ``id(parameter)``) so only masked
    weights move, and stops early when ``should_stop(step)`` says the targets are met.
    ``lr_scale(step)``, where given, is the share of ``settings.lr`` that step runs at.
    """
    with _gradients_only_for(ctx.model, parameters):
        return _optimise(
            ctx, parameters, settings, steps, loss_fn, grad_masks, should_stop, lr_scale, phase
        )


@contextlib.contextmanager
def _gradients_only_for(model: nn.Module, parameters: Sequence[nn.Parameter]) -> Iterator[None]:
    """Within the block, only ``parameters`` take gradients: the backward pass skips the
    weight gradients of everything the optimiser would not move (a tied output head's
    among them)."""
    moving = {id(p) for p in parameters}
    paused = [p for p in model.parameters() if p.requires_grad and id(p) not in moving]
    for param in paused:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param in paused:
            param.requires_grad_(True)


def _optimise(
    ctx: RunContext,
    parameters: Sequence[nn.Parameter],
    settings: MethodSettings,
    steps: int,
    loss_fn: LossFn,
    grad_masks: dict[int, torch.Tensor] | None,
    should_stop: StopFn | None,
    lr_scale: ScaleFn | None,
    phase: str,
) -> MethodOutcome:
    optimizer = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=0.0)
    # Gradients flow in eval mode too; keeping dropout off makes the forget and retain
    # targets exact (a KL to a frozen copy is not drowned in dropout noise) and runs repeat.
    ctx.model.eval()
    outcome = MethodOutcome(steps=0)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        check_cancel(ctx.should_cancel)
        if lr_scale is not None:
            for group in optimizer.param_groups:
                group["lr"] = settings.lr * lr_scale(step)
        loss, metrics = loss_fn(step)
        _apply_step(optimizer, parameters, loss, settings.grad_clip, grad_masks)
        outcome.steps = step
        metrics = {
            "loss": float(loss.detach()),
            **metrics,
            "seconds": time.perf_counter() - started,
        }
        outcome.history.append(metrics)
        emit(ctx.progress, phase, step, steps, metrics)
        if should_stop is not None and should_stop(step):
            outcome.stopped_early = step < steps
            break
    return outcome


def _apply_step(
    optimizer: torch.optim.Optimizer,
    parameters: Sequence[nn.Parameter],
    loss: torch.Tensor,
    grad_clip: float,
    grad_masks: dict[int, torch.Tensor] | None,
) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_masks is not None:
        for param in parameters:
            if param.grad is not None and id(param) in grad_masks:
                param.grad.mul_(grad_masks[id(param)])
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
    optimizer.step()


def nll_of(ctx: RunContext, pairs: Sequence[Pair], whole_text: bool = False) -> torch.Tensor:
    """Mean NLL of a batch: value tokens only, or every token when ``whole_text``."""
    batch: Batch = make_batch(pairs, ctx.pad, label_prompt=whole_text).to(ctx.loaded.device)
    return sequence_nll(ctx.model, batch).mean()


def frozen_copy(model: M) -> M:
    """A copy of ``model`` in eval mode that takes no gradients: the starting point that
    reference and retain terms compare against while the model itself moves."""
    frozen = copy.deepcopy(model).eval()
    for param in frozen.parameters():
        param.requires_grad_(False)
    return frozen


def trainable(model: nn.Module) -> list[nn.Parameter]:
    """Every parameter that takes gradients."""
    return [p for p in model.parameters() if p.requires_grad]


_BLOCK_LIST = re.compile(r"(?:^|\.)(?:h|layers|layer|blocks)$")


def block_list(model: nn.Module) -> nn.ModuleList | None:
    """The model's list of transformer blocks (``transformer.h``, ``model.layers``, ...)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and _BLOCK_LIST.search(name) and len(module):
            return module
    return None


def block_parameters(model: nn.Module, first: int = 0) -> list[nn.Parameter]:
    """The transformer blocks' parameters: not the embeddings (often tied to the output
    head, so a change there moves every token's probability), not the final norm. With
    ``first``, only those of block ``first`` and above."""
    blocks = block_list(model)
    if blocks is None:
        return []
    return [p for block in blocks[first:] for p in block.parameters() if p.requires_grad]
