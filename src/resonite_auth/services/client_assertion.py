"""private_key_jwt client authentication (RFC 7523 §2.2, §3; OIDC Core §9).

The client signs a short-lived JWT with a key from the JWKS it registered; each assertion is
accepted once (its `jti` is remembered until it expires).
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from resonite_auth.domain.clients import Client
from resonite_auth.errors import InvalidClient
from resonite_auth.oauth.metadata import ASSERTION_ALGS
from resonite_auth.security.tokens import digest
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.assertions import AssertionRepository

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGS = ASSERTION_ALGS
FAILED = "Client authentication failed."


def unverified_subject(assertion: str) -> str:
    """The client id the assertion claims to be (checked later against its signature)."""
    try:
        payload = json.loads(extract_compact(assertion.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidClient(FAILED, detail="malformed client assertion") from exc
    subject = payload.get("sub") if isinstance(payload, dict) else None
    if not isinstance(subject, str) or not subject:
        raise InvalidClient(FAILED, detail="client assertion without sub")
    return subject


async def verify_assertion(
    ctx: Context, client: Client, assertion: str, audiences: set[str]
) -> None:
    if client.is_public or not client.jwks:
        raise InvalidClient(FAILED, detail="client has no registered JWKS")
    claims = _verified_claims(client, assertion)
    now = ctx.clock()
    _check_claims(ctx, client, claims, audiences, now)
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    async with ctx.db.transaction() as connection:
        first = await AssertionRepository(connection).remember(
            client.client_id, digest(str(claims["jti"])), expires_at
        )
    if not first:
        raise InvalidClient(FAILED, detail="client assertion jti replayed")


def _verified_claims(client: Client, assertion: str) -> dict[str, Any]:
    try:
        keys = KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc's EdDSA naming warning (RFC 9864)
            token = jwt.decode(assertion, keys, algorithms=list(ALGS))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidClient(FAILED, detail=f"client assertion signature: {exc}") from exc
    return dict(token.claims)


def _check_claims(
    ctx: Context, client: Client, claims: dict[str, Any], audiences: set[str], now: datetime
) -> None:
    """RFC 7523 §3: iss and sub are the client, aud is us, exp is near, jti is present."""
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise InvalidClient(FAILED, detail="client assertion iss/sub is not the client")
    aud = claims.get("aud")
    aud_values = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
    if not aud_values & audiences:
        raise InvalidClient(FAILED, detail=f"client assertion audience {aud!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise InvalidClient(FAILED, detail="client assertion without exp")
    expires_at = datetime.fromtimestamp(exp, UTC)
    if expires_at <= now:
        raise InvalidClient(FAILED, detail="client assertion expired")
    if expires_at > now + timedelta(seconds=ctx.settings.client_assertion_max_lifetime):
        raise InvalidClient(FAILED, detail="client assertion lives too long")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and datetime.fromtimestamp(nbf, UTC) > now:
        raise InvalidClient(FAILED, detail="client assertion not yet valid")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 512:
        raise InvalidClient(FAILED, detail="client assertion without a usable jti")
