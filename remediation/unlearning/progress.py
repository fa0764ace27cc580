"""Progress events and cancellation: how long work reports itself and is stopped."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from .errors import Cancelled


@dataclass(frozen=True)
class ProgressEvent:
    """One step of long work: which phase, how far, and a few numbers (never item text)."""

    phase: str
    step: int
    total: int
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


ProgressFn = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def emit(
    progress: ProgressFn | None,
    phase: str,
    step: int,
    total: int,
    metrics: dict[str, float] | None = None,
) -> None:
    """Send one event to the callback, if there is one."""
    if progress is not None:
        progress(ProgressEvent(phase, step, total, dict(metrics or {})))


def check_cancel(should_cancel: CancelCheck | None) -> None:
    """Raise ``Cancelled`` if the caller asked to stop."""
    if should_cancel is not None and should_cancel():
        raise Cancelled("cancelled by the caller")


class TqdmProgress:
    """A progress callback that draws one tqdm bar per phase on stderr."""

    def __init__(self, disable: bool = False) -> None:
        self._bar: tqdm[Any] | None = None
        self._phase = ""
        self._disable = disable

    def __call__(self, event: ProgressEvent) -> None:
        """Advance (or start) the bar for the event's phase."""
        if self._bar is None or event.phase != self._phase or event.total != self._bar.total:
            self._start(event)
        assert self._bar is not None
        self._bar.n = event.step
        self._bar.set_postfix({k: f"{v:.3g}" for k, v in list(event.metrics.items())[:4]})

    def _start(self, event: ProgressEvent) -> None:
        self.close()
        self._phase = event.phase
        self._bar = tqdm(
            total=event.total, desc=event.phase, file=sys.stderr, disable=self._disable, leave=False
        )

    def close(self) -> None:
        """Finish the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
