"""manage.py report_verify: offline verification of a report file."""

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from remediation.reports.signing import public_key_pem


@pytest.fixture
def key_file(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "public.pem"
    path.write_text(public_key_pem(signing_key))
    return path


@pytest.fixture
def pdf_file(tmp_path: Path, report_pdf: bytes) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(report_pdf)
    return path


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _run(*args: str) -> str:
    out = StringIO()
    call_command("report_verify", *args, stdout=out)
    return out.getvalue()


def test_valid_pdf_with_public_key(
    pdf_file: Path, key_file: Path, signed_document: dict[str, Any]
) -> None:
    # when the genuine PDF is checked with the signer's public key
    output = _run(str(pdf_file), "--public-key", str(key_file))

    # then it is VALID, with the digest and key id
    assert output.startswith("VALID")
    assert signed_document["digest"] in output and signed_document["key_id"] in output


def test_tampered_json_is_invalid_with_reason(
    tmp_path: Path, key_file: Path, signed_document: dict[str, Any]
) -> None:
    # given the JSON document with one check's value edited
    signed_document["bundle"]["evidence"]["checks"][0]["value"] = 0.5
    path = tmp_path / "report.json"
    path.write_text(json.dumps(signed_document))

    # when / then the command fails, saying why
    with pytest.raises(CommandError, match="INVALID: .*changed after signing"):
        _run(str(path), "--public-key", str(key_file))


def test_without_public_key_uses_the_site_key(
    settings: Any,
    tmp_path: Path,
    pdf_file: Path,
    signing_key: Ed25519PrivateKey,
    other_key: Ed25519PrivateKey,
) -> None:
    # given the site's key file is the signer's
    site_key = tmp_path / "report_signing_key.pem"
    site_key.write_bytes(_private_pem(signing_key))
    settings.UNLEARN_SIGNING_KEY_PATH = site_key
    settings.UNLEARN_SIGNING_KEY = None

    # when / then the report verifies with no key given
    assert _run(str(pdf_file)).startswith("VALID")

    # and once the site's key setting names another key, the same report is refused
    settings.UNLEARN_SIGNING_KEY = _private_pem(other_key).decode()
    with pytest.raises(CommandError, match="INVALID: .*not the trusted key"):
        _run(str(pdf_file))


def test_missing_site_key_is_an_error_not_a_new_key(
    settings: Any, tmp_path: Path, pdf_file: Path
) -> None:
    settings.UNLEARN_SIGNING_KEY_PATH = tmp_path / "absent.pem"
    settings.UNLEARN_SIGNING_KEY = None
    with pytest.raises(CommandError, match="pass --public-key"):
        _run(str(pdf_file))
    assert not (tmp_path / "absent.pem").exists()


def test_unreadable_files_are_reported(tmp_path: Path, key_file: Path, pdf_file: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read the report"):
        _run(str(tmp_path / "missing.pdf"), "--public-key", str(key_file))
    with pytest.raises(CommandError, match="Cannot read the public key"):
        _run(str(pdf_file), "--public-key", str(tmp_path / "missing.pem"))


def test_garbage_file_is_invalid(tmp_path: Path, key_file: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7 truncated")
    with pytest.raises(CommandError, match="INVALID: the PDF cannot be read"):
        _run(str(path), "--public-key", str(key_file))
