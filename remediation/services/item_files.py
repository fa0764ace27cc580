"""Parsing and validating forget items typed in a form or uploaded as CSV / JSONL."""

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from django.conf import settings

from remediation.services.errors import ValidationFailed

COMPLETION_ALIASES = ("completion", "target", "unwanted_completion")


@dataclass(frozen=True)
class ItemInput:
    prompt: str
    completion: str
    preferred: str = ""


def _clean_text(value: object, field: str, where: str) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}: '{field}' must be text.")
    value = value.strip()
    if "\x00" in value:
        raise ValidationFailed(f"{where}: '{field}' contains a NUL character.")
    if len(value) > settings.UNLEARN_MAX_ITEM_CHARS:
        limit = settings.UNLEARN_MAX_ITEM_CHARS
        raise ValidationFailed(f"{where}: '{field}' is longer than {limit} characters.")
    return value


def item_from_mapping(row: dict[str, object], where: str) -> ItemInput:
    """One item from a dict with prompt, completion (or target) and optional preferred."""
    completion_key = next((k for k in COMPLETION_ALIASES if k in row), "completion")
    prompt = _clean_text(row.get("prompt"), "prompt", where)
    completion = _clean_text(row.get(completion_key), "completion", where)
    preferred = _clean_text(row.get("preferred"), "preferred", where)
    if not prompt or not completion:
        raise ValidationFailed(f"{where}: both a prompt and an unwanted completion are needed.")
    return ItemInput(prompt=prompt, completion=completion, preferred=preferred)


def validate_items(items: Iterable[ItemInput]) -> list[ItemInput]:
    """At least one item, no more than the configured maximum, no exact duplicates."""
    items = list(items)
    if not items:
        raise ValidationFailed("A request needs at least one item.")
    check_item_count(len(items))
    # Items typed in a form or built by the API never passed the file parser: hold them
    # to the same rules (text, both parts, no NUL, length limit).
    items = [item_from_mapping(asdict(item), f"Item {n}") for n, item in enumerate(items, 1)]
    if len(set(items)) != len(items):
        raise ValidationFailed("The same item appears more than once.")
    return items


def check_item_count(count: int) -> None:
    """Refuse more items than one request may hold."""
    limit = settings.UNLEARN_MAX_ITEMS_PER_REQUEST
    if count > limit:
        raise ValidationFailed(f"Too many items: {count} (at most {limit} per request).")


def _decode(data: bytes) -> str:
    if len(data) > settings.UNLEARN_MAX_UPLOAD_BYTES:
        limit_kib = settings.UNLEARN_MAX_UPLOAD_BYTES // 1024
        raise ValidationFailed(f"The file is larger than {limit_kib} KiB.")
    if not data.strip():
        raise ValidationFailed("The file is empty.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"The file is not UTF-8 text (byte {exc.start}).") from exc


def _parse_csv(text: str) -> list[ItemInput]:
    reader = csv.DictReader(io.StringIO(text))
    items = []
    try:
        # Reading the header parses the first row, which can itself be malformed.
        header = {name.strip().lower() for name in (reader.fieldnames or []) if name}
        if "prompt" not in header or not header & set(COMPLETION_ALIASES):
            raise ValidationFailed(
                "The CSV needs a header row with the columns 'prompt' and 'completion' "
                "(and optionally 'preferred')."
            )
        for line, row in enumerate(reader, start=2):
            clean = {(k or "").strip().lower(): v for k, v in row.items()}
            items.append(item_from_mapping(clean, f"Line {line}"))
    except csv.Error as exc:
        raise ValidationFailed(f"The CSV is malformed: {exc}.") from exc
    return items


def _parse_jsonl(text: str) -> list[ItemInput]:
    items = []
    # Lines end at \n only: splitlines() would also cut at U+2028 and other separators
    # that JSON strings may hold as they are.
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"Line {line}: not valid JSON ({exc.msg}).") from exc
        except (ValueError, RecursionError) as exc:
            # Python's own limits: integers over 4300 digits, very deep nesting.
            message = f"Line {line}: not valid JSON (a number too long or nesting too deep)."
            raise ValidationFailed(message) from exc
        if not isinstance(row, dict):
            raise ValidationFailed(f"Line {line}: each line must be a JSON object.")
        items.append(item_from_mapping(row, f"Line {line}"))
    return items


def parse_items_file(filename: str, data: bytes) -> list[ItemInput]:
    """Items from an uploaded .csv or .jsonl file; ValidationFailed says what is wrong."""
    text = _decode(data)
    lower = filename.lower()
    if lower.endswith(".csv"):
        items = _parse_csv(text)
    elif lower.endswith((".jsonl", ".ndjson", ".json")):
        items = _parse_jsonl(text)
    else:
        raise ValidationFailed("Upload a .csv or .jsonl file.")
    return validate_items(items)
