"""Minting an access token, a refresh token and an ID token under one grant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.grants import TokenKind
from resonite_auth.oauth import access_token, id_token
from resonite_auth.security.tokens import digest, new_id, new_secret
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.grants import TokenRepository


@dataclass(frozen=True, slots=True)
class Issue:
    """What to issue; `refresh_scopes` is None when no refresh token is due."""

    grant_id: str
    client_id: str
    account_id: str
    scopes: list[str]
    refresh_scopes: list[str] | None
    auth_time: datetime
    amr: list[str]
    code_digest: str | None = None
    parent_digest: str | None = None
    absolute_expires_at: datetime | None = None
    access_token_format: str = "opaque"  # the client's choice: opaque | jwt (RFC 9068)
    id_token_alg: str = "RS256"  # the client's id_token_signed_response_alg


@dataclass(frozen=True, slots=True)
class Issued:
    access_token: str
    refresh_token: str | None
    scopes: list[str]
    expires_in: int


async def issue_tokens(connection: AsyncConnection, ctx: Context, issue: Issue) -> Issued:
    """Mint and store the tokens (one statement). The caller has checked the grant is live and
    marked it used, in the same transaction."""
    issued, rows = await mint_tokens(ctx, issue, ctx.clock())
    await TokenRepository(connection).add_all(rows)
    return issued


async def mint_tokens(
    ctx: Context, issue: Issue, now: datetime
) -> tuple[Issued, list[dict[str, Any]]]:
    """New tokens, and the rows that store them (digests only; every row names the same
    columns). Minted before any write unit, so that no lock is held meanwhile (a JWT access
    token is signed here)."""
    access = await _mint_access(ctx, issue, now)
    common = {
        "grant_id": issue.grant_id,
        "client_id": issue.client_id,
        "account_id": issue.account_id,
        "issued_at": now,
        "auth_time": issue.auth_time,
        "amr": issue.amr,
        "code_digest": issue.code_digest,
    }
    rows = [
        {
            **common,
            "digest": digest(access),
            "kind": TokenKind.ACCESS.value,
            "scopes": issue.scopes,
            "expires_at": now + timedelta(seconds=ctx.settings.access_token_ttl),
            "absolute_expires_at": None,
            "parent_digest": None,
        }
    ]
    refresh = None
    if issue.refresh_scopes is not None:
        refresh = new_secret()
        absolute = issue.absolute_expires_at or now + timedelta(
            seconds=ctx.settings.refresh_token_absolute_ttl
        )
        sliding = now + timedelta(seconds=ctx.settings.refresh_token_ttl)
        rows.append(
            {
                **common,
                "digest": digest(refresh),
                "kind": TokenKind.REFRESH.value,
                "scopes": issue.refresh_scopes,
                "expires_at": min(sliding, absolute),
                "absolute_expires_at": absolute,
                "parent_digest": issue.parent_digest,
            }
        )
    return Issued(access, refresh, issue.scopes, ctx.settings.access_token_ttl), rows


async def _mint_access(ctx: Context, issue: Issue, now: datetime) -> str:
    if issue.access_token_format != "jwt":
        return new_secret()
    kid, key = await ctx.keyring.signing_key(ctx.db, access_token.ALG)
    claims = access_token.build_claims(
        issuer=ctx.settings.issuer,
        subject=issue.account_id,
        client_id=issue.client_id,
        scopes=issue.scopes,
        issued_at=now,
        lifetime=ctx.settings.access_token_ttl,
        auth_time=issue.auth_time,
        jti=new_id(),
    )
    return access_token.sign(claims, key, kid=kid)


async def token_response(
    ctx: Context, issued: Issued, issue: Issue, *, nonce: str | None
) -> dict[str, Any]:
    """RFC 6749 §5.1, plus the ID token when `openid` was granted (OIDC Core §3.1.3.3)."""
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": " ".join(issued.scopes),
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    if "openid" in issued.scopes:
        alg = issue.id_token_alg
        kid, key = await ctx.keyring.signing_key(ctx.db, alg)
        claims = id_token.build_claims(
            issuer=ctx.settings.issuer,
            subject=issue.account_id,
            audience=issue.client_id,
            issued_at=ctx.clock(),
            lifetime=ctx.settings.id_token_ttl,
            auth_time=issue.auth_time,
            amr=issue.amr,
            nonce=nonce,
            access_token=issued.access_token,
            alg=alg,
        )
        body["id_token"] = id_token.sign(claims, key, kid=kid, alg=alg)
    return body
