"""Exceptions raised by the engine: one base class, so callers can catch them all."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose.

    The message is one line meant for a person; it never contains item text.
    """


class ModelDirectoryError(EngineError):
    """The model directory is missing, incomplete, broken or unsafe to load."""


class PickleWeightsError(ModelDirectoryError):
    """The model directory holds pickle weights, which can run code when loaded."""


class ItemsFileError(EngineError):
    """An items file (JSONL or CSV of prompt, target, preferred) cannot be used."""


class UnknownMethodError(EngineError):
    """No remediation method is registered under the requested name."""


class SettingsError(EngineError):
    """Method settings or a verification policy failed validation."""


class Cancelled(EngineError):
    """The caller asked to stop; raised between steps, never in the middle of one."""


class DemoDataError(EngineError):
    """A directory does not hold the demo data written by ``build_demo_model``."""
