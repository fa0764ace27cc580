"""The method registry: every remediation method by name, behind one interface."""

from __future__ import annotations

from ..errors import UnknownMethodError
from .base import Method, MethodOutcome, MethodSettings, RunContext
from .baselines import NPO, RMU, GradAscent, GradDiff, SimNPO
from .rewrite import Rewrite

DEFAULT_METHOD = "rewrite"
METHODS: dict[str, type[Method]] = {
    cls.name: cls for cls in (Rewrite, GradAscent, GradDiff, NPO, SimNPO, RMU)
}
_ALIASES = {
    "default": DEFAULT_METHOD,
    "gradascent": "grad_ascent",
    "graddiff": "grad_diff",
    "ga": "grad_ascent",
}


def canonical_name(name: str) -> str:
    """The registry name for ``name`` (case, dashes and the published spellings allowed)."""
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key.replace("_", ""), _ALIASES.get(key, key))


def get_method(name: str) -> Method:
    """A fresh instance of the method registered as ``name``.

    Raises ``UnknownMethodError`` naming the methods there are.
    """
    key = canonical_name(name)
    if key not in METHODS:
        raise UnknownMethodError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[key]()


__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "Method",
    "MethodOutcome",
    "MethodSettings",
    "RunContext",
    "canonical_name",
    "get_method",
]
