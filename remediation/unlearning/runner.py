"""Remediate: run one registered method on a model, the same way for every method."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import EngineError
from .items import ForgetItem
from .methods import DEFAULT_METHOD, RunContext, canonical_name, get_method
from .modelio import LoadedModel
from .progress import CancelCheck, ProgressFn, check_cancel
from .runtime import seed_everything


@dataclass
class RemediationResult:
    """The remediated model and a record of the run (numbers and settings, no item text)."""

    loaded: LoadedModel
    method: str
    settings: dict[str, Any]
    seed: int
    items: int
    steps: int
    stopped_early: bool
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> Any:
        """The remediated model itself."""
        return self.loaded.model

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of the run (without the model)."""
        return {
            "method": self.method,
            "settings": self.settings,
            "seed": self.seed,
            "items": self.items,
            "steps": self.steps,
            "stopped_early": self.stopped_early,
            "seconds": self.seconds,
            "history": self.history,
            "notes": self.notes,
        }


def remediate(
    model: LoadedModel,
    forget_items: Sequence[ForgetItem],
    retain: Sequence[str | ForgetItem],
    method: str = DEFAULT_METHOD,
    settings: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
    inplace: bool = False,
) -> RemediationResult:
    """Make ``model`` forget ``forget_items`` with ``method``, keeping ``retain``.

    ``retain`` holds texts (or items, used as their full text) the model must keep: other
    people's records, generic text. ``settings`` overrides the method's defaults (unknown
    names raise ``SettingsError``). The run is deterministic under ``seed``. ``progress``
    receives a ``ProgressEvent`` per step; ``should_cancel`` is polled between steps and a
    true answer raises ``Cancelled``. The input model is copied first unless ``inplace``.
    Raises ``UnknownMethodError`` for an unknown method.
    """
    runner = get_method(method)
    parsed = runner.settings_type.from_dict(settings)
    if not forget_items:
        raise EngineError("nothing to forget: the item list is empty")
    check_cancel(should_cancel)
    seed_everything(seed)
    work = model if inplace else _copy(model)
    texts = [r.text if isinstance(r, ForgetItem) else r for r in retain]
    items = [r for r in retain if isinstance(r, ForgetItem)]
    ctx = RunContext(work, list(forget_items), texts, seed, progress, should_cancel, items)
    started = time.perf_counter()
    outcome = runner.run(ctx, parsed)
    work.model.eval()
    return RemediationResult(
        loaded=work,
        method=canonical_name(method),
        settings=parsed.to_dict(),
        seed=seed,
        items=len(forget_items),
        steps=outcome.steps,
        stopped_early=outcome.stopped_early,
        seconds=time.perf_counter() - started,
        history=outcome.history,
        notes=outcome.notes,
    )


def _copy(loaded: LoadedModel) -> LoadedModel:
    return LoadedModel(
        model=copy.deepcopy(loaded.model),
        tokenizer=loaded.tokenizer,
        device=loaded.device,
        path=loaded.path,
    )
