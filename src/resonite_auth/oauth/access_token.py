"""JWT access tokens (RFC 9068): the claims and the `at+jwt` header.

Opaque tokens stay the default; a client may ask for JWTs. Either kind is stored as a digest
and checked against the database on use, so a revoked JWT is refused like an opaque token.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

from joserfc import jwt

from resonite_auth.security.keys import AnyKey

FORMATS = ("opaque", "jwt")
ALG = "RS256"  # RFC 9068 §2.1: RS256 must be supported by every resource server


def build_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    scopes: list[str],
    issued_at: datetime,
    lifetime: int,
    auth_time: datetime,
    jti: str,
) -> dict[str, Any]:
    """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti, plus scope and auth_time.

    The protected resources (profile API, userinfo) are served under the issuer, so the
    audience is the issuer URL.
    """
    iat = int(issued_at.timestamp())
    return {
        "iss": issuer,
        "exp": iat + lifetime,
        "aud": issuer,
        "sub": subject,
        "client_id": client_id,
        "iat": iat,
        "jti": jti,
        "scope": " ".join(scopes),
        "auth_time": int(auth_time.timestamp()),
    }


def sign(claims: dict[str, Any], key: AnyKey, *, kid: str, alg: str = ALG) -> str:
    """RFC 9068 §2.1: `typ` is `at+jwt` so that it cannot pass for an ID token."""
    return sign_jwt({"alg": alg, "kid": kid, "typ": "at+jwt"}, claims, key)


def sign_jwt(header: dict[str, Any], claims: dict[str, Any], key: AnyKey) -> str:
    with warnings.catch_warnings():
        # joserfc warns that "EdDSA" is superseded by "Ed25519" (RFC 9864); verifiers and the
        # OIDC registry still use "EdDSA", so it is the name we publish and sign with.
        warnings.simplefilter("ignore")
        return jwt.encode(header, claims, key, algorithms=[header["alg"]])
