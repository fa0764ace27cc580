"""Verify a report file, JSON or PDF, offline: only the file and a public key are needed.

For a PDF the signed document is its `evidence.json` attachment; once that verifies, the
PDF's printed key facts must match it (see fields.py), so a PDF re-rendered from an
altered bundle but carrying the original evidence is rejected with the field named.
"""

import io
import json
from typing import Any

from pypdf import PdfReader

from remediation.reports.fields import comparable, field_pairs
from remediation.reports.signing import Verification, verify_document

# The name the PDF gives the signed document it carries (pdf.py writes it, we read it).
ATTACHMENT_NAME = "evidence.json"
# A PDF may have up to 1 KiB of junk before its header; readers accept that, so do we.
PDF_HEADER_WINDOW = 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(data: bytes, source: str) -> tuple[Any, str | None]:
    """The JSON value in `data`, or None and the reason it is not JSON."""
    try:
        text = data.decode("utf-8-sig")
        return json.loads(text, parse_constant=_reject_constant), None
    except UnicodeDecodeError:
        return None, f"{source} is not UTF-8 text"
    except RecursionError:
        return None, f"{source} is nested too deeply"
    except ValueError as exc:
        return None, f"{source} is not valid JSON ({exc})"


def _verify_json(data: bytes, trusted_public_key_pem: str | None) -> Verification:
    document, reason = _parse_json(data, "the file")
    if reason:
        return Verification.failed(reason)
    return verify_document(document, trusted_public_key_pem)


def _read_pdf(data: bytes) -> tuple[list[bytes], str]:
    """The evidence attachments and the text of a PDF. Raises on an unreadable PDF."""
    reader = PdfReader(io.BytesIO(data))
    attachments = reader.attachments.get(ATTACHMENT_NAME, [])
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return list(attachments), text


def missing_fields(bundle: dict[str, Any], text: str) -> list[str]:
    """Reasons naming each key fact of `bundle` that no line of `text` shows as signed."""
    lines = {comparable(line) for line in text.splitlines()}
    reasons = []
    for name, value in field_pairs(bundle):
        if comparable(f"{name}: {value}") not in lines:
            reasons.append(
                f"the PDF does not show field {name} as signed (the evidence says {value!r})"
            )
    return reasons


def _verify_pdf(data: bytes, trusted_public_key_pem: str | None) -> Verification:
    try:
        attachments, text = _read_pdf(data)
    except Exception as exc:
        # pypdf raises many kinds of error on damaged files; every one means "unreadable".
        return Verification.failed(f"the PDF cannot be read ({type(exc).__name__}: {exc})")
    if not attachments:
        return Verification.failed(f"the PDF has no {ATTACHMENT_NAME} attachment to verify")
    if len(attachments) > 1:
        return Verification.failed(f"the PDF has {len(attachments)} {ATTACHMENT_NAME} attachments")
    document, reason = _parse_json(attachments[0], f"the attached {ATTACHMENT_NAME}")
    if reason:
        return Verification.failed(reason)
    result = verify_document(document, trusted_public_key_pem)
    if not result.ok or result.bundle is None:
        return result
    return result.with_reasons(missing_fields(result.bundle, text))


def verify_file(data: bytes, trusted_public_key_pem: str | None) -> Verification:
    """Verify a signed report given as JSON or as a PDF carrying it; any unreadable,
    altered or foreign file is a failed Verification with reasons, never an exception."""
    if not isinstance(data, bytes | bytearray) or not data:
        return Verification.failed("the file is empty")
    data = bytes(data)
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return _verify_pdf(data, trusted_public_key_pem)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _verify_json(data, trusted_public_key_pem)
    return Verification.failed("the file is neither a JSON report nor a PDF")
