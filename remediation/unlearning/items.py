"""Forget items: what a model must stop producing, how they are read and fingerprinted."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ItemsFileError
from .formats import KINDS, detect_kind

MAX_ITEMS_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ForgetItem:
    """A prompt and the completion the model must stop producing.

    ``target`` is appended to ``prompt`` with one space unless either side already has
    whitespace at the seam (see ``join_prompt``). ``preferred`` is an optional completion
    to teach instead. ``paraphrases`` are other prompts that ask for the same value (the
    scan probes them). ``kind`` is the value's format (phone, email, address, date,
    employer, text; guessed from the target when empty), ``subject`` whose data it is.
    """

    prompt: str
    target: str
    preferred: str | None = None
    paraphrases: tuple[str, ...] = ()
    kind: str | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        if not self.prompt.strip() or not self.target.strip():
            raise ItemsFileError("a forget item needs a non-empty prompt and target")
        if self.kind is not None and self.kind not in KINDS:
            raise ItemsFileError(f"unknown item kind {self.kind!r}; use one of {KINDS}")

    @property
    def value_kind(self) -> str:
        """The value's format: the given kind, else one guessed from the target."""
        return self.kind or detect_kind(self.target)

    @property
    def text(self) -> str:
        """The full training-style text: prompt and target joined."""
        return join_prompt(self.prompt, self.target)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (it contains the item text: never log it)."""
        return {
            "prompt": self.prompt,
            "target": self.target,
            "preferred": self.preferred,
            "paraphrases": list(self.paraphrases),
            "kind": self.kind,
            "subject": self.subject,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForgetItem:
        """Build an item from a dict with at least ``prompt`` and ``target``."""
        paraphrases = data.get("paraphrases") or ()
        if isinstance(paraphrases, str):
            paraphrases = [paraphrases]
        return cls(
            prompt=str(data["prompt"]),
            target=str(data["target"]),
            preferred=_optional_str(data.get("preferred")),
            paraphrases=tuple(str(p) for p in paraphrases),
            kind=_optional_str(data.get("kind")),
            subject=_optional_str(data.get("subject")),
        )


def _optional_str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def join_prompt(prompt: str, completion: str) -> str:
    """Prompt and completion as one text, with a single space at the seam if needed."""
    return prompt + completion_suffix(prompt, completion)


def completion_suffix(prompt: str, completion: str) -> str:
    """The completion as it follows the prompt (a leading space where one is needed)."""
    if not prompt or prompt[-1].isspace() or completion[:1].isspace():
        return completion
    return " " + completion


def read_items_file(path: str | Path) -> list[ForgetItem]:
    """Read forget items from a JSONL or CSV file (fields prompt, target, preferred).

    Raises ``ItemsFileError`` with a one-line reason (never the item text) when the
    file is missing, too large, malformed, or has no items.
    """
    path = Path(path)
    if not path.is_file():
        raise ItemsFileError(f"items file not found: {path}")
    if path.stat().st_size > MAX_ITEMS_FILE_BYTES:
        raise ItemsFileError(f"items file is larger than {MAX_ITEMS_FILE_BYTES} bytes")
    rows = _read_csv(path) if path.suffix.lower() == ".csv" else _read_jsonl(path)
    items = [_row_to_item(row, number) for number, row in enumerate(rows, start=1)]
    if not items:
        raise ItemsFileError(f"items file has no items: {path}")
    return items


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ItemsFileError(f"line {number} of the items file is not valid JSON") from None
        if not isinstance(row, dict):
            raise ItemsFileError(f"line {number} of the items file is not a JSON object")
        rows.append(row)
    return rows


def _read_csv(path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(_read_text(path).splitlines())
    if reader.fieldnames is None or not {"prompt", "target"} <= set(reader.fieldnames):
        raise ItemsFileError("the CSV items file needs a header with prompt and target")
    return [dict(row) for row in reader]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ItemsFileError("the items file is not UTF-8 text") from None


def _row_to_item(row: dict[str, Any], number: int) -> ForgetItem:
    if not isinstance(row.get("prompt"), str) or not isinstance(row.get("target"), str):
        raise ItemsFileError(f"item {number} needs string fields prompt and target")
    try:
        return ForgetItem.from_dict(row)
    except ItemsFileError as error:
        raise ItemsFileError(f"item {number}: {error}") from None


def write_items_file(items: Iterable[ForgetItem], path: str | Path) -> None:
    """Write items as JSONL (the inverse of ``read_items_file``)."""
    lines = [json.dumps(item.to_dict(), ensure_ascii=False) for item in items]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def new_hash_key() -> bytes:
    """A random key for fingerprints that nobody can link to other runs."""
    return secrets.token_bytes(32)


def fingerprint(item: ForgetItem, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256) of an item: shows which item without showing it."""
    message = "\x00".join((item.prompt, item.target)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def fingerprints(items: Sequence[ForgetItem], key: bytes) -> list[str]:
    """Keyed hashes of several items, in order."""
    return [fingerprint(item, key) for item in items]


__all__ = [
    "ForgetItem",
    "completion_suffix",
    "fingerprint",
    "fingerprints",
    "join_prompt",
    "new_hash_key",
    "read_items_file",
    "write_items_file",
]
