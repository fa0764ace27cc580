"""Settings from JSON-like overrides: unknown names and wrong types are clear errors.

Method settings and the verification policy are frozen dataclasses whose defaults are the
engine's; callers (the site's run form, the CLI's ``--settings``) pass a dict of the values
they change. Every value is checked against the field's declared type here, before the
dataclass's own range checks run, so a string, a list or a NaN never reaches a threshold.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

from .errors import SettingsError

T = TypeVar("T")


def from_overrides(cls: type[T], data: dict[str, Any] | None, what: str) -> T:
    """An instance of the dataclass ``cls`` with ``data`` overriding its defaults."""
    if data is not None and not isinstance(data, dict):
        raise SettingsError(f"{what} must be an object of name: value")
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise SettingsError(f"unknown {what}: {', '.join(unknown)}")
    values = {name: coerce(fields[name], value) for name, value in data.items()}
    try:
        return cls(**values)
    except TypeError as error:
        raise SettingsError(f"bad {what}: {error}") from None


def coerce(spec: dataclasses.Field[Any], value: Any) -> Any:
    """Accept ints for floats and lists for tuples; refuse anything else of the wrong type."""
    kind = str(spec.type)
    try:
        if kind == "float":
            return _finite(value)
        if kind == "int":
            return _exact_int(value)
        if kind == "bool":
            return _strict_bool(value)
        if kind.startswith("tuple"):
            return _sequence(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{spec.name} has the wrong type ({kind} expected)") from None
    return value


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _exact_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value)


def _strict_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(value)


def _sequence(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise TypeError(value)
    return tuple(value)
