"""Signing a bundle and verifying the signed document: canonical form, keys, tampering."""

import base64
import copy
import hashlib
import json
import random
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.reports.signing import (
    CanonicalJSONError,
    SigningKeyError,
    Verification,
    bundle_digest,
    canonical_json,
    key_id,
    load_or_create_signing_key,
    load_signing_key,
    public_key_pem,
    sign_bundle,
    verify_document,
)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every path to a scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return 0


def _mutate(bundle: dict[str, Any], path: tuple) -> dict[str, Any]:
    tampered = copy.deepcopy(bundle)
    parent = tampered
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = _changed(parent[path[-1]])
    return tampered


def _pem(key: Ed25519PrivateKey) -> str:
    return public_key_pem(key)


# --- canonical JSON ----------------------------------------------------------------------


def test_canonical_json_is_compact_sorted_utf8() -> None:
    # given a value with unsorted keys and non-ASCII text
    value = {"b": [1, 2.5, None], "a": {"é": True}}

    # when it is made canonical
    result = canonical_json(value)

    # then keys are sorted, there is no whitespace and the text is raw UTF-8
    assert result == '{"a":{"é":true},"b":[1,2.5,null]}'.encode()


@settings(database=None, deadline=None)
@given(JSON_VALUES, st.randoms(use_true_random=False))
def test_canonical_json_ignores_key_order(value: Any, rnd: random.Random) -> None:
    # given the same value rebuilt with every dict's keys in another order
    def shuffled(v: Any) -> Any:
        if isinstance(v, dict):
            items = list(v.items())
            rnd.shuffle(items)
            return {k: shuffled(x) for k, x in items}
        return [shuffled(x) for x in v] if isinstance(v, list) else v

    # when both are made canonical, twice
    # then every result is the same bytes
    assert canonical_json(value) == canonical_json(shuffled(value)) == canonical_json(value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_canonical_json_rejects_nan_and_infinity(bad: float) -> None:
    # given a bundle with a non-finite number deep inside
    bundle = {"charts": {"roc": {"loss": {"auc": bad}}}}

    # when / then it is refused, naming where
    with pytest.raises(CanonicalJSONError, match=r"\$\.charts\.roc\.loss\.auc"):
        canonical_json(bundle)


@pytest.mark.parametrize("bad", [{1: "a"}, {"x": {1, 2}}, {"x": b"bytes"}, {"x": object()}])
def test_canonical_json_rejects_what_json_cannot_hold_exactly(bad: Any) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(bad)


def test_bundle_digest_is_sha256_of_canonical_json(sample_bundle: dict[str, Any]) -> None:
    assert bundle_digest(sample_bundle) == hashlib.sha256(canonical_json(sample_bundle)).hexdigest()


# --- keys --------------------------------------------------------------------------------


def test_signing_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    # given no key file yet
    path = tmp_path / "var" / "report_signing_key.pem"

    # when the key is loaded twice
    first = load_or_create_signing_key(path, None)
    second = load_or_create_signing_key(path, None)

    # then one private file was created, and both loads give the same key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(first) == key_id(second)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    # given eight workers that all find no key file and start together
    path = tmp_path / "report_signing_key.pem"
    barrier, ids = threading.Barrier(8), []

    def load() -> None:
        barrier.wait()
        ids.append(key_id(load_or_create_signing_key(path, None)))

    # when they all load-or-create at once
    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then they all sign with the one key that is on disk
    assert len(ids) == 8 and set(ids) == {key_id(load_signing_key(path, None))}


def test_signing_key_from_setting_pem_or_base64(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # given the key as PEM and as base64 of its raw 32 bytes
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw = signing_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )

    # when either is the setting's value
    from_pem = load_or_create_signing_key(tmp_path / "unused.pem", pem)
    from_raw = load_or_create_signing_key(tmp_path / "unused.pem", base64.b64encode(raw).decode())

    # then it is the key, and no key file is created
    assert key_id(from_pem) == key_id(from_raw) == key_id(signing_key)
    assert not (tmp_path / "unused.pem").exists()


@pytest.mark.parametrize(
    "value", ["not a key", base64.b64encode(b"short").decode(), "-----BEGIN junk"]
)
def test_bad_signing_key_setting_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SigningKeyError):
        load_or_create_signing_key(tmp_path / "key.pem", value)


def test_load_without_create_refuses_a_missing_key(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="no signing key"):
        load_signing_key(tmp_path / "absent.pem", None)


def test_key_id_is_a_prefix_of_the_raw_public_key_hash(signing_key: Ed25519PrivateKey) -> None:
    raw = signing_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert key_id(signing_key.public_key()) == hashlib.sha256(raw).hexdigest()[:16]


# --- sign and verify ---------------------------------------------------------------------


def test_signed_document_verifies_with_the_trusted_key(
    sample_bundle: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    # given a signed bundle
    document = sign_bundle(sample_bundle, signing_key)

    # when it is verified with the signer's public key
    result = verify_document(document, _pem(signing_key))

    # then it passes, naming the digest and key, and hands back the bundle
    assert result.ok, result.reasons
    assert document["algorithm"] == "Ed25519"
    assert result.digest == document["digest"] == bundle_digest(sample_bundle)
    assert result.key_id == document["key_id"] == key_id(signing_key)
    assert result.bundle == sample_bundle and result.notes == []


def test_document_survives_a_json_round_trip_with_other_key_order(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    # given the document stored and read back as indented JSON with reversed keys
    def reverse(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in reversed(list(v))}
        return [reverse(x) for x in v] if isinstance(v, list) else v

    stored = json.loads(json.dumps(reverse(signed_document), indent=2))

    # when / then it still verifies
    assert verify_document(stored, _pem(signing_key)).ok


def test_without_a_trusted_key_the_embedded_key_is_used_with_a_note(
    signed_document: dict[str, Any],
) -> None:
    result = verify_document(signed_document, None)
    assert result.ok and "not who signed it" in result.notes[0]


def test_changing_any_field_of_the_bundle_fails(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    # given every scalar in the bundle, each changed on its own
    paths = list(_leaves(signed_document["bundle"]))
    assert len(paths) > 150

    for path in paths:
        tampered = dict(signed_document, bundle=_mutate(signed_document["bundle"], path))

        # when the tampered document is verified
        result = verify_document(tampered, _pem(signing_key))

        # then it fails because the bundle no longer matches the signed digest
        assert not result.ok, path
        assert any("changed after signing" in r for r in result.reasons), path
        assert result.bundle is None


@pytest.mark.parametrize("field", ["digest", "signature"])
def test_flipping_a_byte_of_the_digest_or_signature_fails(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey, field: str
) -> None:
    # given the document with one byte of its digest or signature flipped
    if field == "signature":
        raw = bytearray(base64.b64decode(signed_document["signature"]))
        raw[10] ^= 0x01
        signed_document["signature"] = base64.b64encode(bytes(raw)).decode()
    else:
        signed_document["digest"] = (
            "0" if signed_document["digest"][0] != "0" else "1"
        ) + signed_document["digest"][1:]

    # when / then verification fails
    assert not verify_document(signed_document, _pem(signing_key)).ok


def test_wrong_trusted_key_fails(
    signed_document: dict[str, Any], other_key: Ed25519PrivateKey
) -> None:
    # when a genuine document is checked against someone else's key
    result = verify_document(signed_document, _pem(other_key))

    # then it fails, saying which key signed it and which was trusted
    assert not result.ok
    assert any(f"not the trusted key {key_id(other_key)}" in r for r in result.reasons)


def test_signature_from_another_key_fails(
    signed_document: dict[str, Any],
    signing_key: Ed25519PrivateKey,
    other_key: Ed25519PrivateKey,
) -> None:
    # given the same bundle signed by another key, under our public key
    forged = sign_bundle(signed_document["bundle"], other_key)["signature"]
    signed_document["signature"] = forged

    # when / then the signature does not verify with the trusted key
    result = verify_document(signed_document, _pem(signing_key))
    assert not result.ok
    assert any("signature does not verify" in r for r in result.reasons)


def test_self_consistent_document_from_another_key_fails_against_ours(
    sample_bundle: dict[str, Any], signing_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    # given an altered bundle properly signed by an attacker's key
    sample_bundle["evidence"]["passed"] = False
    forged = sign_bundle(sample_bundle, other_key)

    # when / then it fails against our key, though it is internally consistent
    assert verify_document(forged, None).ok
    assert not verify_document(forged, _pem(signing_key)).ok


def test_key_id_that_does_not_match_the_key_fails(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    signed_document["key_id"] = "0" * 16
    result = verify_document(signed_document, _pem(signing_key))
    assert not result.ok and "key id" in result.reasons[0]


@pytest.mark.parametrize(
    "change",
    [
        {"bundle": None},
        {"digest": 12},
        {"signature": "!!!not base64!!!"},
        {"signature": base64.b64encode(b"x" * 10).decode()},
        {"public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"},
        {"algorithm": "RSA"},
        {"bundle": {"x": float("nan")}},
    ],
)
def test_malformed_documents_fail_with_a_reason(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey, change: dict[str, Any]
) -> None:
    result = verify_document({**signed_document, **change}, _pem(signing_key))
    assert not result.ok and result.reasons


@pytest.mark.parametrize("trusted", ["", "garbage", b"bytes", 42])
def test_unusable_trusted_key_fails_rather_than_trusting_the_document(
    signed_document: dict[str, Any], trusted: Any
) -> None:
    result = verify_document(signed_document, trusted)
    assert not result.ok and "trusted public key" in result.reasons[0]


@settings(max_examples=150, database=None, deadline=None)
@given(JSON_VALUES)
def test_arbitrary_json_never_raises(value: Any) -> None:
    result = verify_document(value, None)
    assert isinstance(result, Verification) and not result.ok and result.reasons


@settings(max_examples=150, database=None, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            name: JSON_VALUES
            for name in ("bundle", "digest", "signature", "public_key", "key_id", "algorithm")
        },
    )
)
def test_arbitrary_document_shaped_dicts_never_raise(document: dict[str, Any]) -> None:
    result = verify_document(document, None)
    assert not result.ok and result.reasons


def test_with_reasons_turns_a_pass_into_a_failure(
    signed_document: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    # given a passing verdict
    passed = verify_document(signed_document, _pem(signing_key))

    # when a further check adds a reason
    failed = passed.with_reasons(["audit event #12 does not match the chain"])

    # then it fails with that reason and no longer hands out the bundle
    assert passed.ok and not failed.ok
    assert failed.reasons == ["audit event #12 does not match the chain"]
    assert failed.bundle is None and failed.digest == passed.digest
    assert passed.with_reasons([]).ok
