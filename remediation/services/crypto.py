"""Encryption of forget items at rest.

Each request has its own data key (AES-256-GCM); that key is stored wrapped by the
master key. Deleting the wrapped key (crypto-shredding) leaves the ciphertext
unreadable by anyone, including us.
"""

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from remediation.services.errors import ItemsUnavailable

NONCE_BYTES = 12


def _master_key() -> bytes:
    raw = base64.urlsafe_b64decode(settings.UNLEARN_MASTER_KEY.encode())
    # Accept any length of configured secret; derive exactly 32 bytes from it.
    return hashlib.sha256(b"unlearn-master-v1" + raw).digest()


def new_data_key() -> bytes:
    """A fresh 256-bit data key for one request."""
    return AESGCM.generate_key(bit_length=256)


def wrap_key(data_key: bytes, *, request_id: int) -> bytes:
    """Encrypt a request's data key under the master key, bound to the request id."""
    return seal(_master_key(), data_key, context=f"request-key:{request_id}")


def unwrap_key(wrapped: bytes | memoryview | None, *, request_id: int) -> bytes:
    """Recover a request's data key; ItemsUnavailable once it was shredded."""
    if wrapped is None:
        raise ItemsUnavailable("This request's items were destroyed (key shredded).")
    return open_sealed(_master_key(), bytes(wrapped), context=f"request-key:{request_id}")


def seal(key: bytes, plaintext: bytes, *, context: str) -> bytes:
    """AES-GCM encrypt; the context is authenticated so ciphertexts cannot be swapped."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def open_sealed(key: bytes, sealed: bytes, *, context: str) -> bytes:
    """Decrypt what seal() produced with the same key and context."""
    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, ciphertext, context.encode())


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a value under a key derived from the master key.

    Lets the audit trail and reports refer to personal data without containing it.
    """
    key = hashlib.sha256(b"unlearn-hmac-v1:" + purpose.encode() + _master_key()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
