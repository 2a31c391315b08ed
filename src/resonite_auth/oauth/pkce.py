"""Proof Key for Code Exchange (RFC 7636), S256 only (`plain` is refused, RFC 9700 §2.1.1)."""

from __future__ import annotations

import base64
import hashlib
import re

from resonite_auth.security.tokens import same

# RFC 7636 §4.1: 43-128 characters from the unreserved set.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# An S256 challenge is BASE64URL(SHA-256(verifier)) without padding: always 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def is_valid_challenge(challenge: str) -> bool:
    return bool(_S256_CHALLENGE.match(challenge))


def is_valid_verifier(verifier: str) -> bool:
    return bool(_VERIFIER.match(verifier))


def s256(verifier: str) -> str:
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def verify(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6, compared in constant time."""
    return is_valid_verifier(verifier) and same(s256(verifier), challenge)
