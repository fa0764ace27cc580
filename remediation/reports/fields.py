"""The report's key facts as short `name: value` strings.

The PDF prints these, one per line, in its "Verification fields" annex, and verification
checks that every one of them appears in the PDF's text, so a PDF whose printed facts
disagree with the signed evidence it carries is caught and the field named. One function
renders them for both sides, so the two cannot drift apart.

This checks consistency, not authenticity: anyone can print any text into a PDF. What
proves the facts is the signed evidence.json attached to the PDF.
"""

import json
import re
import unicodedata
from typing import Any

from remediation.reports.signing import CanonicalJSONError, bundle_digest

MISSING = "(missing)"
# Characters printed as themselves: ASCII and the Latin letters of European names, all in
# DejaVu Sans Mono. Anything else prints as a \uXXXX escape, because a glyph the font
# lacks breaks text extraction for the whole font, and the rule must not depend on which
# fonts the rendering machine happens to have.
PRINTABLE = re.compile(r"[ -\[\]-~\u00a0-\u00ac\u00ae-\u017f\u0218-\u021b]")


def field_value(value: Any) -> str:
    """A bundle value as printed: JSON for numbers, booleans and null; strings with their
    whitespace collapsed (HTML collapses it anyway); containers as compact JSON."""
    if isinstance(value, str):
        return " ".join(value.split()) or '""'
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def printable(text: str) -> str:
    """`text` with every character outside PRINTABLE (and the backslash, so that an escape
    cannot be forged by typing one) written as a Python-style escape."""
    return "".join(ch if PRINTABLE.match(ch) else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\\":
        return "\\\\"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return MISSING
        data = data[key]
    return data


def _items(data: Any, *path: str) -> list[dict[str, Any]]:
    """The dicts of a list in the bundle; anything that is not a dict is skipped."""
    value = _dig(data, *path)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _request_pairs(bundle: dict[str, Any]) -> list[tuple[str, Any]]:
    pairs = []
    for n, request in enumerate(_items(bundle, "requests"), start=1):
        pairs.append((f"request[{n}].ticket", _dig(request, "ticket")))
        pairs.append((f"request[{n}].subject_hash", _dig(request, "subject_hash")))
    return pairs


def _scope_pairs(bundle: dict[str, Any]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [("scope.model", _dig(bundle, "scope", "model"))]
    for side in ("input_version", "output_version"):
        version = _dig(bundle, "scope", side)
        if isinstance(version, dict):
            pairs.append((f"scope.{side}.number", _dig(version, "number")))
            pairs.append((f"scope.{side}.manifest_digest", _dig(version, "manifest_digest")))
        else:
            pairs.append((f"scope.{side}", version))
    return pairs


def _check_pairs(bundle: dict[str, Any]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [("evidence.passed", _dig(bundle, "evidence", "passed"))]
    for check in _items(bundle, "evidence", "checks"):
        name = f"check[{field_value(_dig(check, 'name'))}]"
        op = _dig(check, "op")
        threshold = field_value(_dig(check, "threshold"))
        pairs.append((f"{name}.value", _dig(check, "value")))
        pairs.append(
            (f"{name}.threshold", f"{op} {threshold}" if isinstance(op, str) else threshold)
        )
        pairs.append((f"{name}.passed", _dig(check, "passed")))
    return pairs


def _tail_pairs(bundle: dict[str, Any]) -> list[tuple[str, Any]]:
    pairs = []
    for n, signoff in enumerate(_items(bundle, "signoffs"), start=1):
        pairs.append((f"signoff[{n}].name", _dig(signoff, "name")))
        pairs.append((f"signoff[{n}].decision", _dig(signoff, "decision")))
    pairs.append(("audit.chain_head.seq", _dig(bundle, "audit", "chain_head", "seq")))
    pairs.append(("audit.chain_head.hash", _dig(bundle, "audit", "chain_head", "hash")))
    pairs.append(("retention.shred_after", _dig(bundle, "retention", "shred_after")))
    return pairs


def _digest_or_missing(bundle: dict[str, Any]) -> str:
    try:
        return bundle_digest(bundle)
    except CanonicalJSONError:
        return MISSING


def field_pairs(bundle: Any) -> list[tuple[str, str]]:
    """(name, printed value) of every key fact, in the order the annex prints them."""
    bundle = bundle if isinstance(bundle, dict) else {}
    pairs: list[tuple[str, Any]] = [
        ("report.id", _dig(bundle, "report", "id")),
        ("report.issued_at", _dig(bundle, "report", "issued_at")),
        ("bundle.digest", _digest_or_missing(bundle)),
    ]
    pairs += _request_pairs(bundle) + _scope_pairs(bundle)
    pairs += [
        ("method.name", _dig(bundle, "method", "name")),
        ("method.seed", _dig(bundle, "method", "seed")),
    ]
    pairs += _check_pairs(bundle) + _tail_pairs(bundle)
    # A missing fact prints as MISSING, which field_value leaves as it is.
    return [(printable(name), printable(field_value(value))) for name, value in pairs]


def render_fields(bundle: Any) -> list[str]:
    """The exact `name: value` strings the PDF shows for the bundle's key facts."""
    return [f"{name}: {value}" for name, value in field_pairs(bundle)]


def comparable(text: str) -> str:
    """Text as compared against extracted PDF text: NFKC (a ligature is its letters), no
    whitespace at all (extractors add and drop spaces between glyph runs) and no NUL (an
    extractor misreading two-byte codes interleaves them)."""
    return re.sub(r"[\s\x00]+", "", unicodedata.normalize("NFKC", text))
