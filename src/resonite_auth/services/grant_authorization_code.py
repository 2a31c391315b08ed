"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6)."""

from __future__ import annotations

from typing import Any

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client
from resonite_auth.domain.grants import IssuedCode
from resonite_auth.errors import InvalidGrant
from resonite_auth.oauth import pkce
from resonite_auth.oauth.params import Params
from resonite_auth.security.tokens import digest
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.services.issuing import Issue, mint_tokens, token_response
from resonite_auth.storage.repositories.grants import TokenRepository, code_by_digest
from resonite_auth.storage.repositories.spending import Credential, Spent, spend_and_issue

INVALID_CODE = "The authorization code is invalid, expired or already used."


async def exchange_code(ctx: Context, client: Client, params: Params) -> dict[str, Any]:
    code = params.require("code")
    redirect_uri = params.require("redirect_uri")
    verifier = params.get("code_verifier")
    code_digest = digest(code)
    issued = await code_by_digest(ctx.db, code_digest)
    if issued is None or issued.client_id != client.client_id:
        raise InvalidGrant(INVALID_CODE, detail="unknown code or another client's code")
    if issued.redeemed_at is not None:
        await _revoke_replayed(ctx, issued)
        raise InvalidGrant(INVALID_CODE, detail="code replayed")
    _check_binding(ctx, issued, redirect_uri, verifier)

    issue = Issue(
        grant_id=issued.grant_id,
        client_id=client.client_id,
        account_id=issued.account_id,
        scopes=issued.scopes,
        refresh_scopes=issued.scopes if "offline_access" in issued.scopes else None,
        auth_time=issued.auth_time,
        amr=issued.amr,
        code_digest=code_digest,
        access_token_format=client.access_token_format,
        id_token_alg=client.id_token_signed_response_alg,
    )
    now = ctx.clock()
    tokens, rows = await mint_tokens(ctx, issue, now)
    spent = await spend_and_issue(
        ctx.db,
        Credential.CODE,
        code_digest,
        grant_id=issued.grant_id,
        account_id=issued.account_id,
        now=now,
        token_rows=rows,
    )
    if spent is Spent.ALREADY_SPENT:
        await _revoke_replayed(ctx, issued)
        raise InvalidGrant(INVALID_CODE, detail="code redeemed concurrently")
    if spent is Spent.GRANT_DEAD:
        raise InvalidGrant(INVALID_CODE, detail="grant revoked or account locked")
    return await token_response(ctx, tokens, issue, nonce=issued.nonce)


def _check_binding(
    ctx: Context, issued: IssuedCode, redirect_uri: str, verifier: str | None
) -> None:
    if ctx.clock() >= issued.expires_at:
        raise InvalidGrant(INVALID_CODE, detail="code expired")
    if redirect_uri != issued.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request.")
    if issued.code_challenge is None:
        if verifier is not None:
            # RFC 9700 §4.8.2: a verifier without a challenge is a PKCE downgrade attempt.
            raise InvalidGrant("code_verifier sent, but the authorization request had no PKCE.")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required for this code.")
    if not pkce.verify(verifier, issued.code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge.")


async def _revoke_replayed(ctx: Context, issued: IssuedCode) -> None:
    """RFC 6749 §4.1.2 and RFC 9700 §4.5: a replayed code revokes what it issued."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        revoked = await TokenRepository(connection).revoke_issued_from_code(issued.digest, now)
        await record(
            connection,
            AuditEvent(
                "code.replayed",
                account_id=issued.account_id,
                client_id=issued.client_id,
                detail={"tokens_revoked": revoked},
            ),
            now,
        )
