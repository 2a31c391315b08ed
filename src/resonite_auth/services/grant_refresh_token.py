"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from typing import Any

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client
from resonite_auth.domain.grants import TokenKind, TokenRecord
from resonite_auth.errors import InvalidGrant, InvalidScope
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import parse_scope
from resonite_auth.security.tokens import digest
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.services.issuing import Issue, mint_tokens, token_response
from resonite_auth.storage.repositories.grants import GrantRepository, token_by_digest
from resonite_auth.storage.repositories.spending import Credential, Spent, spend_and_issue

INVALID_REFRESH = "The refresh token is invalid, expired or revoked."


async def refresh(ctx: Context, client: Client, params: Params) -> dict[str, Any]:
    token_digest = digest(params.require("refresh_token"))
    record_ = await token_by_digest(ctx.db, token_digest)
    if record_ is None or record_.kind is not TokenKind.REFRESH:
        raise InvalidGrant(INVALID_REFRESH, detail="unknown refresh token")
    if record_.client_id != client.client_id:
        raise InvalidGrant(INVALID_REFRESH, detail="another client's refresh token")
    if record_.revoked_at is not None:
        raise InvalidGrant(INVALID_REFRESH, detail="revoked refresh token")
    if record_.rotated_at is not None:
        await _revoke_on_reuse(ctx, record_)
        raise InvalidGrant(INVALID_REFRESH, detail="rotated refresh token reused")
    if ctx.clock() >= record_.expires_at:
        raise InvalidGrant(INVALID_REFRESH, detail="refresh token expired (sliding lifetime)")
    if record_.absolute_expires_at is not None and ctx.clock() >= record_.absolute_expires_at:
        raise InvalidGrant(INVALID_REFRESH, detail="refresh token expired (absolute lifetime)")
    scopes = _narrowed_scopes(params.get("scope"), record_.scopes)

    issue = Issue(
        grant_id=record_.grant_id,
        client_id=client.client_id,
        account_id=record_.account_id,
        scopes=scopes,
        refresh_scopes=record_.scopes,  # §6: the new refresh token keeps the original scope
        auth_time=record_.auth_time or record_.issued_at,
        amr=record_.amr,
        parent_digest=record_.digest,
        absolute_expires_at=record_.absolute_expires_at,
        access_token_format=client.access_token_format,
        id_token_alg=client.id_token_signed_response_alg,
    )
    now = ctx.clock()
    issued, rows = await mint_tokens(ctx, issue, now)
    spent = await spend_and_issue(
        ctx.db,
        Credential.REFRESH_TOKEN,
        token_digest,
        grant_id=record_.grant_id,
        account_id=record_.account_id,
        now=now,
        token_rows=rows,
    )
    if spent is Spent.ALREADY_SPENT:
        await _revoke_on_reuse(ctx, record_)
        raise InvalidGrant(INVALID_REFRESH, detail="refresh token rotated concurrently")
    if spent is Spent.GRANT_DEAD:
        raise InvalidGrant(INVALID_REFRESH, detail="grant revoked or account locked")
    return await token_response(ctx, issued, issue, nonce=None)


def _narrowed_scopes(requested: str | None, granted: list[str]) -> list[str]:
    """A refresh may ask for less, never more (RFC 6749 §6)."""
    if requested is None:
        return granted
    scopes = parse_scope(requested)
    wider = [scope for scope in scopes if scope not in granted]
    if wider:
        raise InvalidScope(f"Not granted originally: {' '.join(wider)}.")
    return scopes


async def _revoke_on_reuse(ctx: Context, token: TokenRecord) -> None:
    """A rotated refresh token came back: treat the grant as stolen and revoke all of it."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await GrantRepository(connection).revoke(token.grant_id, now)
        await record(
            connection,
            AuditEvent(
                "refresh_token.reused",
                account_id=token.account_id,
                client_id=token.client_id,
                detail={"grant_id": token.grant_id},
            ),
            now,
        )
