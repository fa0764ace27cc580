"""The model card (README.md) of a remediated version: what was removed, how, with what result.

It names items only by keyed hash and counts, never by text, so the card can travel with
the model while the items stay with their request.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .items import ForgetItem, fingerprints


def removal_summary(items: Sequence[ForgetItem], key: bytes) -> dict[str, Any]:
    """Counts by value kind and the keyed hashes of removed items (no text)."""
    kinds = Counter(item.value_kind for item in items)
    subjects = {item.subject for item in items if item.subject}
    return {
        "items": len(items),
        "subjects": len(subjects),
        "by_kind": dict(sorted(kinds.items())),
        "fingerprints": fingerprints(items, key),
        "fingerprint_algorithm": "HMAC-SHA256(key, prompt NUL target)",
    }


def render_model_card(
    *,
    parent: str,
    method: str,
    settings: dict[str, Any],
    removal: dict[str, Any],
    verification: dict[str, Any] | None = None,
) -> str:
    """Markdown model card for a version made by a remediation run."""
    lines = [
        "# Remediated model version",
        "",
        f"Derived from `{parent}` by the Unlearn engine.",
        "",
        "## What was removed",
        "",
        f"- items: {removal['items']} (subjects: {removal['subjects']})",
        *[f"- {kind}: {count}" for kind, count in removal["by_kind"].items()],
        f"- keyed hashes ({removal['fingerprint_algorithm']}):",
        *[f"  - `{digest}`" for digest in removal["fingerprints"]],
        "",
        "## How",
        "",
        f"- method: `{method}`",
        "- settings:",
        "",
        "```json",
        json.dumps(settings, indent=2, sort_keys=True),
        "```",
        *_verification_lines(verification),
    ]
    return "\n".join(lines) + "\n"


def _verification_lines(verification: dict[str, Any] | None) -> list[str]:
    if verification is None:
        return ["", "## Verification", "", "Not verified yet."]
    verdict = "passed" if verification.get("passed") else "failed"
    lines = ["", "## Verification", "", f"Policy {verdict}."]
    lines += [f"- {reason}" for reason in verification.get("failures", [])]
    return lines
