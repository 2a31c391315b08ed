"""RP-Initiated Logout 1.0: who asks to sign the person out, and where they may be sent after.

The `id_token_hint` must be an ID token we issued (signature and `iss` checked; an expired one
is fine, §2); `post_logout_redirect_uri` must be registered by that client, compared exactly
(§3), otherwise nobody is redirected anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError

from resonite_auth.domain.clients import Client
from resonite_auth.errors import UnverifiedRedirect
from resonite_auth.oauth.authorization_request import redirect_with
from resonite_auth.oauth.params import Params
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository

BAD_HINT = UnverifiedRedirect(
    "Sign-out request not accepted",
    "The application sent a sign-out request this server cannot verify.",
)


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: Client | None
    subject: str | None  # the `sub` of the hint: who the application thinks is signed in
    redirect_to: str | None  # the verified post-logout URI with `state`, or None


async def _hint_claims(ctx: Context, hint: str) -> tuple[str, str]:
    """(client_id, sub) of an ID token we signed, or BAD_HINT."""
    keys = await ctx.keyring.verification_keys(ctx.db)
    try:
        token = jwt.decode(hint, keys, algorithms=["RS256", "ES256", "EdDSA"])
    except (JoseError, ValueError) as exc:
        raise BAD_HINT from exc
    claims = token.claims
    audience = claims.get("aud")
    client_id = audience[0] if isinstance(audience, list) and len(audience) == 1 else audience
    subject = claims.get("sub")
    if claims.get("iss") != ctx.settings.issuer or not isinstance(client_id, str):
        raise BAD_HINT
    if not isinstance(subject, str):
        raise BAD_HINT
    return client_id, subject


async def check_logout_request(ctx: Context, params: Params) -> LogoutRequest:
    if any(params.is_repeated(name) for name in ("id_token_hint", "post_logout_redirect_uri")):
        raise BAD_HINT
    hint, client_id = params.raw("id_token_hint"), params.raw("client_id")
    subject = None
    if hint:
        hinted_client, subject = await _hint_claims(ctx, hint)
        if client_id and client_id != hinted_client:
            raise BAD_HINT
        client_id = hinted_client
    client = None
    if client_id:
        async with ctx.db.read() as connection:
            client = await ClientRepository(connection).by_id(client_id)
        if client is None:
            raise BAD_HINT
    uri = params.raw("post_logout_redirect_uri")
    redirect_to = None
    if uri:
        if client is None or uri not in client.post_logout_redirect_uris:
            raise UnverifiedRedirect(
                "Unregistered sign-out address",
                "The application asked to send you to an address it has not registered. "
                "For your safety, you will not be sent there.",
            )
        redirect_to = redirect_with(uri, {"state": params.raw("state")})
    return LogoutRequest(client=client, subject=subject, redirect_to=redirect_to)
