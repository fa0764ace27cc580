"""Ed25519 signatures over a report bundle's canonical JSON.

A signed document is a plain dict: the bundle, the SHA-256 digest of its canonical JSON,
an Ed25519 signature over that same canonical JSON, and the signer's public key. Anyone
with the public key can check it offline; nothing here touches the database.
"""

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALGORITHM = "Ed25519"
SIGNATURE_BYTES = 64
RAW_KEY_BYTES = 32
# Every key a signed document must carry, with the type its value must have.
DOCUMENT_FIELDS: dict[str, type] = {
    "bundle": dict,
    "digest": str,
    "signature": str,
    "public_key": str,
    "key_id": str,
    "algorithm": str,
}


class CanonicalJSONError(ValueError):
    """The value has no canonical JSON form (NaN, Infinity, a non-string key, ...)."""


class SigningKeyError(ValueError):
    """The configured signing key is missing or is not an Ed25519 private key."""


@dataclass(frozen=True)
class Verification:
    """The verdict on a signed document or report file.

    `reasons` says why it failed (empty when ok); `notes` are caveats on a pass. `key_id`
    is the key the signature was checked against; `bundle` is set only when ok, so no
    caller can read facts out of a document that failed."""

    ok: bool
    reasons: list[str] = field(default_factory=list)
    digest: str | None = None
    key_id: str | None = None
    bundle: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def failed(cls, *reasons: str) -> "Verification":
        return cls(ok=False, reasons=list(reasons))

    def with_reasons(self, reasons: Iterable[str]) -> "Verification":
        """This verdict with further reasons to reject it (any reason makes it fail)."""
        reasons = [*self.reasons, *reasons]
        ok = self.ok and not reasons
        return dataclasses.replace(self, ok=ok, reasons=reasons, bundle=self.bundle if ok else None)


# --- canonical form ----------------------------------------------------------------------


def _check_json_value(value: Any, path: str) -> None:
    """Raise CanonicalJSONError naming the first value JSON cannot represent exactly."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                # json.dumps would turn 1 into "1", so {1: a, "1": b} would sign two equal keys.
                raise CanonicalJSONError(f"{path} has a non-string key {key!r}")
            _check_json_value(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise CanonicalJSONError(f"{path} is {value!r}: NaN and Infinity have no JSON form")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise CanonicalJSONError(f"{path} is a {type(value).__name__}, not a JSON value")


def canonical_json(obj: Any) -> bytes:
    """The one byte string a JSON value signs as: sorted keys, no spaces, UTF-8.

    Raises CanonicalJSONError for NaN, Infinity, non-string keys and non-JSON types."""
    try:
        _check_json_value(obj, "$")
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return text.encode("utf-8")
    except RecursionError as exc:
        raise CanonicalJSONError("the value is nested too deeply") from exc
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError(
            f"the value holds a string that is not valid Unicode: {exc}"
        ) from exc


def bundle_digest(bundle: Any) -> str:
    """SHA-256 (hex) of the bundle's canonical JSON."""
    return hashlib.sha256(canonical_json(bundle)).hexdigest()


# --- keys --------------------------------------------------------------------------------


def _private_key_from_pem(data: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{source} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{source} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _private_key_from_env(value: str) -> Ed25519PrivateKey:
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return _private_key_from_pem(text.encode("utf-8"), "the signing key setting")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError("the signing key setting is neither PEM nor base64") from exc
    if len(raw) != RAW_KEY_BYTES:
        raise SigningKeyError(
            f"the signing key setting decodes to {len(raw)} bytes; an Ed25519 key has 32"
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def _write_new_key_file(path: Path) -> None:
    """Create the key file at `path` unless another process does so first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # mkstemp creates the file 0600, so the key is never readable by others, not even briefly.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        # link, not rename: rename would replace a key another process has just created and
        # perhaps already signed with; link publishes the complete file only if none exists.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_signing_key(path: Path, env_value: str | None) -> Ed25519PrivateKey:
    """The site's signing key from the setting's value (PEM or base64 of the raw 32 bytes)
    or else from the PEM file at `path`. Raises SigningKeyError when there is none."""
    if env_value and env_value.strip():
        return _private_key_from_env(env_value)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise SigningKeyError(f"there is no signing key at {path}") from exc
    return _private_key_from_pem(data, str(path))


def load_or_create_signing_key(path: Path, env_value: str | None) -> Ed25519PrivateKey:
    """As load_signing_key, but create the key file (mode 0600) on first use."""
    if not (env_value and env_value.strip()) and not Path(path).exists():
        _write_new_key_file(Path(path))
    return load_signing_key(path, env_value)


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half of `key` as a SubjectPublicKeyInfo PEM string."""
    return (
        _public(key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _raw_public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    return _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short name for a key: the first 16 hex digits of SHA-256 of its raw public bytes."""
    return hashlib.sha256(_raw_public_bytes(public_key)).hexdigest()[:16]


def public_key_from_pem(pem: str, source: str = "the public key") -> Ed25519PublicKey:
    """Parse an Ed25519 public key; SigningKeyError (naming `source`) for anything else."""
    if not isinstance(pem, str):
        raise SigningKeyError(f"{source} is not PEM text")
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{source} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{source} is a {type(key).__name__}, not an Ed25519 key")
    return key


# --- signing and verifying ---------------------------------------------------------------


def sign_bundle(bundle: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed document for `bundle`: the bundle, its digest, signature and public key."""
    payload = canonical_json(bundle)
    return {
        # The bytes that were signed, parsed back: later changes to the caller's dict (or
        # tuples that JSON turns into lists) cannot make the stored bundle differ from them.
        "bundle": json.loads(payload),
        "digest": hashlib.sha256(payload).hexdigest(),
        "signature": base64.b64encode(key.sign(payload)).decode("ascii"),
        "public_key": public_key_pem(key),
        "key_id": key_id(key),
        "algorithm": ALGORITHM,
    }


def _shape_reasons(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return [f"the document is a JSON {type(document).__name__}, not an object"]
    reasons = []
    for name, kind in DOCUMENT_FIELDS.items():
        if name not in document:
            reasons.append(f"the document has no '{name}'")
        elif not isinstance(document[name], kind):
            reasons.append(f"the document's '{name}' is not a JSON {kind.__name__}")
    if not reasons and document["algorithm"] != ALGORITHM:
        reasons.append(f"the algorithm is {document['algorithm']!r}; only Ed25519 is accepted")
    return reasons


def _decode_signature(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == SIGNATURE_BYTES else None


def _signature_reasons(
    document: dict[str, Any], payload: bytes, trusted_pem: str | None
) -> tuple[list[str], Ed25519PublicKey | None]:
    """Check the embedded key, the trusted key and the signature; return the reasons to
    reject and the key the signature was checked against."""
    try:
        embedded = public_key_from_pem(document["public_key"], "the document's public key")
        verifier = (
            embedded
            if trusted_pem is None
            else public_key_from_pem(trusted_pem, "the trusted public key")
        )
    except SigningKeyError as exc:
        return [str(exc)], None
    reasons = []
    if document["key_id"] != key_id(embedded):
        reasons.append(
            f"the stated key id {document['key_id']!r} is not that of the document's "
            f"public key ({key_id(embedded)})"
        )
    if _raw_public_bytes(embedded) != _raw_public_bytes(verifier):
        reasons.append(
            f"the document was signed with key {key_id(embedded)}, not the trusted key "
            f"{key_id(verifier)}"
        )
    signature = _decode_signature(document["signature"])
    if signature is None:
        reasons.append("the signature is not base64 of 64 bytes")
    else:
        try:
            verifier.verify(signature, payload)
        except InvalidSignature:
            reasons.append(f"the signature does not verify with key {key_id(verifier)}")
    return reasons, verifier


def _verify_document(document: Any, trusted_public_key_pem: str | None) -> Verification:
    shape = _shape_reasons(document)
    if shape:
        return Verification.failed(*shape)
    try:
        payload = canonical_json(document["bundle"])
    except CanonicalJSONError as exc:
        return Verification.failed(f"the bundle has no canonical JSON form: {exc}")
    digest = hashlib.sha256(payload).hexdigest()
    reasons = []
    if document["digest"] != digest:
        reasons.append(
            f"the bundle's digest is {digest}, not the stated {document['digest'][:64]!r}: "
            "the bundle was changed after signing"
        )
    signature_reasons, verifier = _signature_reasons(document, payload, trusted_public_key_pem)
    reasons += signature_reasons
    notes = []
    if trusted_public_key_pem is None:
        notes.append(
            "no trusted key was given: the signature was checked with the key the document "
            "carries, which proves it is intact but not who signed it"
        )
    return Verification(
        ok=not reasons,
        reasons=reasons,
        digest=digest,
        key_id=key_id(verifier) if verifier else None,
        bundle=document["bundle"] if not reasons else None,
        notes=notes,
    )


def verify_document(document: Any, trusted_public_key_pem: str | None) -> Verification:
    """Check a signed document: its digest, then its signature with the trusted key (or,
    when that is None, with the key it carries). Any malformed input, an unusable trusted
    key included, is a failed Verification with reasons, never an exception."""
    try:
        return _verify_document(document, trusted_public_key_pem)
    except Exception as exc:
        # Documents come from uploads and strangers: an unforeseen shape must read as
        # INVALID with a reason, never as a crash that a caller might mistake for anything else.
        return Verification.failed(f"the document could not be checked ({type(exc).__name__})")
