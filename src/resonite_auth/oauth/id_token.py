"""ID tokens (OpenID Connect Core §2, §3.1.3.6) and the left-half hashes they carry."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from resonite_auth.oauth.access_token import sign_jwt
from resonite_auth.security.keys import AnyKey

_HASHES = {"RS256": hashlib.sha256, "ES256": hashlib.sha256, "EdDSA": hashlib.sha512}


def left_half_hash(value: str, alg: str) -> str:
    """`at_hash`: base64url of the left half of the hash of the ASCII value (OIDC §3.1.3.6)."""
    hashed = _HASHES[alg](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed[: len(hashed) // 2]).rstrip(b"=").decode("ascii")


def build_claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    issued_at: datetime,
    lifetime: int,
    auth_time: datetime,
    amr: list[str],
    nonce: str | None,
    access_token: str,
    alg: str,
) -> dict[str, Any]:
    iat = int(issued_at.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "azp": audience,
        "iat": iat,
        "exp": iat + lifetime,
        "auth_time": int(auth_time.timestamp()),
        "amr": amr,
        "at_hash": left_half_hash(access_token, alg),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return claims


def sign(claims: dict[str, Any], key: AnyKey, *, kid: str, alg: str) -> str:
    return sign_jwt({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key)
