"""The Unlearn engine: detect, isolate, remediate and verify, on torch and transformers only.

This package never imports Django, so it runs (and is tested) on any GPU box. Names are
loaded lazily: ``from remediation.unlearning import ForgetItem`` does not import torch.

Public API (stable; the site and the worker call these)
-------------------------------------------------------

Items and errors
    ``ForgetItem(prompt, target, preferred=None, paraphrases=(), kind=None, subject=None)``
    ``read_items_file(path) -> list[ForgetItem]``   JSONL or CSV with prompt, target[, preferred]
    ``fingerprint(item, key) -> str``               keyed hash (HMAC-SHA256), never the text
    ``EngineError`` and its subclasses ``ModelDirectoryError`` (``PickleWeightsError``),
    ``ItemsFileError``, ``UnknownMethodError``, ``SettingsError``, ``Cancelled``,
    ``DemoDataError``.

Model I/O
    ``load_model(path, device=None) -> LoadedModel``   (.model, .tokenizer, .device)
        safetensors only, no remote code, offline; CUDA+bf16 when present, else CPU+fp32.
    ``save_model_version(loaded, out_dir, card=None, extra=None) -> dict[str, str]``
    ``save_remediated(result, items, out_dir, *, parent, hash_key=None, verification=None)``
        a version directory with model card (README.md) and ``manifest.json``.
    ``file_manifest(path) -> dict[str, str]``          relative path -> sha256

Detect
    ``scan(loaded, items, settings=ScanSettings(), *, context_items=None, progress=None,
    should_cancel=None) -> ScanResult``  probes: verbatim, paraphrase, jailbreak, fewshot,
    sampled; target loss; exposure. ``ScanResult.to_dict()`` names items by index.

Isolate
    ``isolate(loaded, forget_items, retain_texts, *, scope="mlp", fraction=0.05, seed=0,
    progress=None, should_cancel=None) -> IsolationResult`` (``.mask``, ``.per_layer()``,
    ``.to_dict()`` for the chart).

Remediate
    ``remediate(model, forget_items, retain, method="rewrite", settings=None, *, seed=0,
    progress=None, should_cancel=None, inplace=False) -> RemediationResult``
    ``progress`` receives ``ProgressEvent(phase, step, total, metrics)``; ``should_cancel``
    is polled between steps and raises ``Cancelled``. ``METHODS``, ``get_method(name)``,
    ``DEFAULT_METHOD`` ("rewrite"); baselines ``grad_ascent``, ``grad_diff``, ``npo``,
    ``simnpo``, ``rmu``.

Verify
    ``verify(before_model, after_model, forget_items, holdout_items, retain_items,
    generic_texts, policy=VerificationPolicy(), *, oracle_model=None, relearn_texts=None,
    progress=None, should_cancel=None) -> VerificationResult`` with ``.passed``,
    ``.failures`` and ``.to_dict()``. ``VerificationPolicy.from_dict`` / ``.to_dict``.

Demo
    ``build_demo_model(out_dir, seed=0, recipe=None, progress=None, should_cancel=None)``
    ``load_demo_data(model_dir) -> DemoData`` (trained / holdout people, generic text);
    ``items_of(people)`` turns people into forget items.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    Cancelled,
    DemoDataError,
    EngineError,
    ItemsFileError,
    ModelDirectoryError,
    PickleWeightsError,
    SettingsError,
    UnknownMethodError,
)
from .items import ForgetItem, fingerprint, read_items_file

if TYPE_CHECKING:
    from .demo import DemoData, build_demo_model, items_of, load_demo_data
    from .detect import ScanResult, ScanSettings, scan
    from .methods import DEFAULT_METHOD, METHODS, get_method
    from .modelio import LoadedModel, file_manifest, load_model, save_model_version
    from .progress import ProgressEvent
    from .runner import RemediationResult, remediate
    from .saliency import IsolationResult, isolate
    from .verification import VerificationPolicy, VerificationResult, verify
    from .workflow import save_remediated

_LAZY = {
    "DemoData": "demo",
    "build_demo_model": "demo",
    "items_of": "demo",
    "load_demo_data": "demo",
    "ScanResult": "detect",
    "ScanSettings": "detect",
    "scan": "detect",
    "IsolationResult": "saliency",
    "isolate": "saliency",
    "DEFAULT_METHOD": "methods",
    "METHODS": "methods",
    "get_method": "methods",
    "LoadedModel": "modelio",
    "file_manifest": "modelio",
    "load_model": "modelio",
    "save_model_version": "modelio",
    "ProgressEvent": "progress",
    "RemediationResult": "runner",
    "remediate": "runner",
    "VerificationPolicy": "verification",
    "VerificationResult": "verification",
    "verify": "verification",
    "save_remediated": "workflow",
}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use (torch loads only then)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "build_demo_model",
    "Cancelled",
    "DEFAULT_METHOD",
    "DemoData",
    "DemoDataError",
    "EngineError",
    "file_manifest",
    "fingerprint",
    "ForgetItem",
    "get_method",
    "isolate",
    "IsolationResult",
    "items_of",
    "ItemsFileError",
    "load_demo_data",
    "load_model",
    "LoadedModel",
    "METHODS",
    "ModelDirectoryError",
    "PickleWeightsError",
    "ProgressEvent",
    "read_items_file",
    "remediate",
    "RemediationResult",
    "save_model_version",
    "save_remediated",
    "scan",
    "ScanResult",
    "ScanSettings",
    "SettingsError",
    "UnknownMethodError",
    "VerificationPolicy",
    "VerificationResult",
    "verify",
]
