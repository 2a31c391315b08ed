"""The authorization endpoint's use cases: start a request, resume it, consent, issue the code.

A validated request is stored as a pending interaction bound to the browser; the sign-in and
consent pages carry only its id (DESIGN: Flow state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client
from resonite_auth.domain.grants import BrowserSession, Grant, PendingInteraction
from resonite_auth.errors import (
    ConsentRequired,
    InteractionRequired,
    LoginRequired,
    UnverifiedRedirect,
)
from resonite_auth.oauth.authorization_request import AuthorizationRequest, redirect_with
from resonite_auth.oauth.params import Params
from resonite_auth.security.tokens import digest, new_secret, same
from resonite_auth.services.audit import record
from resonite_auth.services.consent import remember_consent
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository, client_by_id
from resonite_auth.storage.repositories.code_issuing import CodeIssue, add_code_under_grant
from resonite_auth.storage.repositories.grants import GrantRepository
from resonite_auth.storage.repositories.sessions import InteractionRepository

EXPIRED = UnverifiedRedirect(
    "This sign-in request has expired",
    "Too much time passed, or the request was already completed. "
    "Go back to the application and start again.",
)


async def active_client(ctx: Context, params: Params, client_id: str) -> Client:
    client = await client_by_id(ctx.db, client_id)
    if client is None:
        raise UnverifiedRedirect(
            "Unknown application", "No application is registered under this client id."
        )
    if not client.is_active:
        raise UnverifiedRedirect(
            "Application unavailable",
            f"{client.name} cannot sign people in right now: it is not approved on this platform.",
        )
    return client


async def current_grant(ctx: Context, account_id: str, client_id: str) -> Grant | None:
    async with ctx.db.read() as connection:
        return await GrantRepository(connection).active_for(account_id, client_id)


def needs_login(
    request: AuthorizationRequest,
    session: BrowserSession | None,
    interaction: PendingInteraction | None,
    ctx: Context,
    account: Account | None = None,
) -> bool:
    """OIDC Core §3.1.2.1: `prompt=login` and `max_age` ask for a fresh authentication.

    A session from before the person turned on two-step sign-in is not enough either.
    """
    if session is None:
        return True
    if interaction is not None and interaction.login_completed_at is not None:
        return False
    if needs_second_factor(session, account):
        return True
    if "login" in request.prompt:
        return True
    if request.max_age is not None:
        return ctx.clock() - session.auth_time > timedelta(seconds=request.max_age)
    return False


def needs_second_factor(session: BrowserSession, account: Account | None) -> bool:
    return account is not None and account.two_factor_enabled and "otp" not in session.amr


def grant_covers(grant: Grant | None, scopes: list[str]) -> bool:
    return grant is not None and grant.covers(scopes)


async def answer_without_interaction(
    ctx: Context,
    request: AuthorizationRequest,
    session: tuple[BrowserSession, Account] | None,
) -> str:
    """`prompt=none` (OIDC Core §3.1.2.6): a code now, or an error, but never a page."""
    if session is None or needs_login(request, session[0], None, ctx):
        raise LoginRequired("The user is not signed in.")
    browser_session, account = session
    if needs_second_factor(browser_session, account):
        # Signed in, but the second step is missing: only a page can ask for it.
        raise InteractionRequired("The user must complete two-step sign-in.")
    # issue_code checks, in its write unit, that the grant covers the scopes (ConsentRequired).
    return await issue_code(ctx, request, browser_session, account, interaction_id=None)


async def code_without_pages(
    ctx: Context,
    request: AuthorizationRequest,
    session: tuple[BrowserSession, Account] | None,
) -> str | None:
    """The code at once, when no page would ask anything: the person is signed in recently
    enough (two-step included), `prompt` asks for neither login nor consent, and the remembered
    grant covers the scopes. None when a page is needed; the interaction then decides."""
    if session is None or "consent" in request.prompt:
        return None
    browser_session, account = session
    if needs_login(request, browser_session, None, ctx, account):
        return None
    try:
        # Checks, in its write unit, that the remembered grant covers the scopes.
        return await issue_code(ctx, request, browser_session, account, interaction_id=None)
    except ConsentRequired:
        return None  # no grant, or not for all of these scopes: the consent page asks


async def start_interaction(
    ctx: Context, request: AuthorizationRequest, browser_binding: str
) -> str:
    interaction_id = new_secret(24)
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await InteractionRepository(connection).add(
            {
                "id": interaction_id,
                "binding_digest": digest(browser_binding),
                "kind": "authorize",
                "params": request.to_dict(),
                "created_at": now,
                "expires_at": now + timedelta(seconds=ctx.settings.interaction_ttl),
            }
        )
    return interaction_id


@dataclass(frozen=True, slots=True)
class Resumed:
    interaction: PendingInteraction
    request: AuthorizationRequest
    client: Client


async def resume(ctx: Context, interaction_id: str, browser_binding: str | None) -> Resumed:
    """The pending interaction, only for the browser that started it."""
    async with ctx.db.read() as connection:
        interaction = await InteractionRepository(connection).live(interaction_id, ctx.clock())
        if interaction is None:
            raise EXPIRED
        if not browser_binding or not same(interaction.binding_digest, digest(browser_binding)):
            raise UnverifiedRedirect(
                "This sign-in request belongs to another browser",
                "Start again from the application in this browser.",
            )
        request = AuthorizationRequest.from_dict(interaction.params)
        client = await ClientRepository(connection).by_id(request.client_id)
    # Suspension and a removed redirect URI take effect at once, even mid-flow.
    if client is None or not client.is_active or request.redirect_uri not in client.redirect_uris:
        raise UnverifiedRedirect(
            "Application unavailable", "This application can no longer sign people in."
        )
    return Resumed(interaction, request, client)


async def mark_login(ctx: Context, interaction_id: str) -> None:
    async with ctx.db.transaction() as connection:
        await InteractionRepository(connection).mark_login(interaction_id, ctx.clock())


async def consent(
    ctx: Context,
    resumed: Resumed,
    session: BrowserSession,
    account: Account,
    *,
    ip: str | None,
) -> str:
    """Remember the consent (widening an existing grant) and issue the code."""
    request = resumed.request
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await remember_consent(connection, account.id, request.client_id, request.scopes, now)
        await record(
            connection,
            AuditEvent(
                "consent.granted",
                account_id=account.id,
                client_id=request.client_id,
                ip=ip,
                detail={"scopes": request.scopes},
            ),
            now,
        )
    return await issue_code(ctx, request, session, account, interaction_id=resumed.interaction.id)


async def deny(ctx: Context, resumed: Resumed, account: Account, *, ip: str | None) -> str:
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        if not await InteractionRepository(connection).finish(resumed.interaction.id):
            raise EXPIRED
        await record(
            connection,
            AuditEvent(
                "consent.denied", account_id=account.id, client_id=resumed.client.client_id, ip=ip
            ),
            now,
        )
    return redirect_with(
        resumed.request.redirect_uri,
        {
            "error": "access_denied",
            "error_description": "The user denied the request.",
            "state": resumed.request.state,
            "iss": ctx.settings.issuer,
        },
    )


async def issue_code(
    ctx: Context,
    request: AuthorizationRequest,
    session: BrowserSession,
    account: Account,
    *,
    interaction_id: str | None,
) -> str:
    """Mint a single-use code bound to client, redirect URI, PKCE challenge and nonce."""
    code = new_secret()
    now = ctx.clock()
    row = {
        "digest": digest(code),
        "client_id": request.client_id,
        "account_id": account.id,
        "redirect_uri": request.redirect_uri,
        "scopes": request.scopes,
        "code_challenge": request.code_challenge,
        "nonce": request.nonce,
        "auth_time": session.auth_time,
        "amr": session.amr,
        "created_at": now,
        "expires_at": now + timedelta(seconds=ctx.settings.authorization_code_ttl),
    }
    # The grant is looked up and checked in the unit that stores the code (see code_issuing).
    issued = await add_code_under_grant(ctx.db, row, interaction_id=interaction_id)
    if issued is CodeIssue.INTERACTION_GONE:
        raise EXPIRED
    if issued is CodeIssue.NOT_CONSENTED:
        raise ConsentRequired("The user has not consented to these scopes.")
    return redirect_with(
        request.redirect_uri, {"code": code, "state": request.state, "iss": ctx.settings.issuer}
    )
