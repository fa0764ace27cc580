"""verify_file: signed JSON or PDF in, a verdict out; damaged or altered files fail cleanly."""

import copy
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from weasyprint import HTML, Attachment

from remediation.reports.pdf import evidence_json, render_report_html
from remediation.reports.signing import public_key_pem
from remediation.reports.verify import verify_file


def _pdf(visible: dict[str, Any] | None, attached: dict[str, Any] | None) -> bytes:
    """A PDF printing the report of `visible` (or, quicker, a bare page when None) and
    carrying `attached` as its evidence (or nothing)."""
    html = render_report_html(visible) if visible is not None else "<p>Report</p>"
    attachments = []
    if attached is not None:
        attachments.append(Attachment(string=evidence_json(attached), name="evidence.json"))
    return HTML(string=html).write_pdf(attachments=attachments)


def test_genuine_pdf_verifies(report_pdf: bytes, signing_key: Ed25519PrivateKey) -> None:
    result = verify_file(report_pdf, public_key_pem(signing_key))
    assert result.ok, result.reasons
    assert result.key_id and result.bundle and result.bundle["scope"]["model"] == "demo-gpt2"


def test_genuine_json_verifies(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    # given the document as the JSON download writes it
    data = json.dumps(signed_document, indent=2, sort_keys=True, ensure_ascii=False).encode()

    # when / then it verifies
    assert verify_file(data, public_key_pem(signing_key)).ok


def test_pdf_against_another_key_fails(report_pdf: bytes, other_key: Ed25519PrivateKey) -> None:
    result = verify_file(report_pdf, public_key_pem(other_key))
    assert not result.ok and "not the trusted key" in " ".join(result.reasons)


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda b: b["evidence"]["checks"][2].__setitem__("value", 0.71), "check[mia_auc].value"),
        (lambda b: b["scope"].__setitem__("model", "demo-gpt2-large"), "scope.model"),
    ],
    ids=["check-value", "model-name"],
)
def test_pdf_printing_other_facts_than_its_evidence_fails_naming_the_field(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey, tamper: Any, field: str
) -> None:
    # given a PDF re-rendered from an altered bundle but carrying the original evidence
    altered = copy.deepcopy(signed_document)
    tamper(altered["bundle"])
    pdf = _pdf(altered, signed_document)

    # when it is verified
    result = verify_file(pdf, public_key_pem(signing_key))

    # then the signature is fine but the printed field is not, and it is named
    assert not result.ok
    assert any(f"field {field} " in reason for reason in result.reasons), result.reasons
    assert result.bundle is None


def test_pdf_carrying_altered_evidence_fails(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    # given a PDF whose attachment is an edited copy of the signed document
    signed_document["bundle"]["evidence"]["passed"] = False
    pdf = _pdf(None, signed_document)

    # when / then the digest no longer matches
    result = verify_file(pdf, public_key_pem(signing_key))
    assert not result.ok and "changed after signing" in " ".join(result.reasons)


def test_pdf_without_evidence_fails() -> None:
    result = verify_file(_pdf(None, None), None)
    assert not result.ok and result.reasons == ["the PDF has no evidence.json attachment to verify"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x00\xff garbage \x89PNG", "neither"),
        (b'{"bundle": {"report": ', "not valid JSON"),
        (b"[1, 2, 3]", "not an object"),
        (b'{"bundle": NaN}', "not valid JSON"),
        (b"{\xff\xfe}", "not UTF-8"),
        (b"%PDF-1.7\n garbage that is no PDF", "cannot be read"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_damaged_input_fails_cleanly(data: bytes, reason: str) -> None:
    result = verify_file(data, None)
    assert not result.ok
    assert reason in " ".join(result.reasons)


def test_truncated_pdf_fails_cleanly(report_pdf: bytes, signing_key: Ed25519PrivateKey) -> None:
    result = verify_file(report_pdf[: len(report_pdf) // 2], public_key_pem(signing_key))
    assert not result.ok and result.reasons


@settings(max_examples=100, database=None, deadline=None)
@given(st.binary(max_size=300) | st.binary(max_size=300).map(lambda b: b"%PDF-1.4\n" + b))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = verify_file(data, None)
    assert not result.ok and result.reasons
