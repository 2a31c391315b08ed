"""Random secrets and their digests.

Codes, tokens and client secrets carry 256 bits of entropy, so a fast digest (SHA-256) is
enough to store them safely; passwords are another matter (see passwords.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits (RFC 9700 §4.1; DESIGN: codes ≥ 256-bit random)


def new_secret(nbytes: int = TOKEN_BYTES) -> str:
    """A URL-safe random string with `nbytes` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """The stored form of a high-entropy secret: hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_id(nbytes: int = 16) -> str:
    """An opaque identifier (not a secret)."""
    return secrets.token_hex(nbytes)
