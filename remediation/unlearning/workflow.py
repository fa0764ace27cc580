"""Remediate and save in one call: what the CLI's ``run`` and a worker do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .items import ForgetItem, new_hash_key
from .modelcard import removal_summary, render_model_card
from .modelio import LoadedModel, manifest_digest, save_model_version
from .progress import CancelCheck, ProgressFn
from .runner import RemediationResult, remediate


def save_remediated(
    result: RemediationResult,
    items: Sequence[ForgetItem],
    out_dir: str | Path,
    *,
    parent: str,
    hash_key: bytes | None = None,
    verification: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Save a remediation result as a version with its model card; return the manifest.

    The card lists counts and keyed hashes of the removed items (``hash_key``; a random
    key when none is given, which makes the hashes unlinkable), the method and settings.
    """
    removal = removal_summary(items, hash_key or new_hash_key())
    card = render_model_card(
        parent=parent,
        method=result.method,
        settings=result.settings,
        removal=removal,
        verification=verification,
    )
    extra = {
        "parent": parent,
        "run": result.to_dict(),
        "removal": removal,
        "verification": verification,
    }
    return save_model_version(result.loaded, out_dir, card=card, extra=extra)


def run_and_save(
    loaded: LoadedModel,
    items: Sequence[ForgetItem],
    retain: Sequence[str | ForgetItem],
    out_dir: str | Path,
    method: str,
    settings: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    hash_key: bytes | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelCheck | None = None,
) -> dict[str, Any]:
    """Remediate ``loaded`` in place and save the new version; return a summary (no text)."""
    result = remediate(
        loaded,
        items,
        retain,
        method,
        settings,
        seed=seed,
        progress=progress,
        should_cancel=should_cancel,
        inplace=True,
    )
    parent = str(loaded.path) if loaded.path else "unknown"
    manifest = save_remediated(result, items, out_dir, parent=parent, hash_key=hash_key)
    return {
        "out": str(out_dir),
        "version_digest": manifest_digest(manifest),
        "run": {k: v for k, v in result.to_dict().items() if k != "history"},
    }
