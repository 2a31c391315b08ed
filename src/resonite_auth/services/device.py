"""The device authorization grant's use cases (RFC 8628): start, find by user code, decide.

The person's side runs as a pending interaction (kind "device") bound to their browser, like
the authorization code flow's pages (DESIGN: Flow state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client
from resonite_auth.domain.device import DeviceCode, DeviceStatus
from resonite_auth.domain.grants import BrowserSession, PendingInteraction
from resonite_auth.errors import InvalidScope, UnauthorizedClient, UnverifiedRedirect
from resonite_auth.oauth import device as rules
from resonite_auth.oauth.scopes import parse_scope
from resonite_auth.security.tokens import digest, new_secret, same
from resonite_auth.services.audit import record
from resonite_auth.services.consent import remember_consent
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository
from resonite_auth.storage.repositories.device import DeviceCodeRepository
from resonite_auth.storage.repositories.sessions import InteractionRepository

VERIFICATION_PATH = "/device"


async def start(ctx: Context, client: Client, scope: str | None) -> dict[str, Any]:
    """RFC 8628 §3.1-3.2: mint a device code and a user code for an allowed client."""
    if not client.allow_device_grant:
        raise UnauthorizedClient("This application is not allowed the device authorization grant.")
    scopes = parse_scope(scope)
    not_allowed = [s for s in scopes if s not in client.allowed_scopes]
    if not_allowed:
        raise InvalidScope(f"This application may not ask for: {' '.join(not_allowed)}.")
    device_code = new_secret()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = DeviceCodeRepository(connection)
        for _ in range(5):  # a user-code collision is rare; try a fresh one
            user_code = rules.new_user_code()
            stored = await repository.add(
                {
                    "device_digest": digest(device_code),
                    "user_code_digest": digest(rules.normalize(user_code) or ""),
                    "client_id": client.client_id,
                    "scopes": scopes,
                    "status": DeviceStatus.PENDING.value,
                    "created_at": now,
                    "expires_at": now + timedelta(seconds=ctx.settings.device_code_ttl),
                    "interval": ctx.settings.device_poll_interval,
                }
            )
            if stored:
                break
        else:
            raise RuntimeError("could not allocate a unique user code")
    verification_uri = ctx.settings.url(VERIFICATION_PATH)
    return {
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete_uri(ctx, user_code),
        "expires_in": ctx.settings.device_code_ttl,
        "interval": ctx.settings.device_poll_interval,
    }


def complete_uri(ctx: Context, user_code: str) -> str:
    return f"{ctx.settings.url(VERIFICATION_PATH)}?{urlencode({'user_code': user_code})}"


class CodeProblem(Exception):
    """A user code that cannot be confirmed; the message is shown to the person."""


async def find_pending(ctx: Context, typed: str) -> DeviceCode:
    normalized = rules.normalize(typed)
    if normalized is None:
        raise CodeProblem("That is not a device code. Codes look like BCDF-GHJK.")
    async with ctx.db.read() as connection:
        device = await DeviceCodeRepository(connection).by_user_code(digest(normalized))
    if device is None:
        raise CodeProblem("We could not find that code. Check it against your device's screen.")
    if device.status is not DeviceStatus.PENDING:
        raise CodeProblem("That code was already used. Ask your device for a new one.")
    if ctx.clock() >= device.expires_at:
        raise CodeProblem("That code has expired. Ask your device for a new one.")
    return device


async def begin_confirmation(
    ctx: Context, device: DeviceCode, user_code: str, browser_binding: str
) -> str:
    interaction_id = new_secret(24)
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await InteractionRepository(connection).add(
            {
                "id": interaction_id,
                "binding_digest": digest(browser_binding),
                "kind": "device",
                "params": {"device_digest": device.device_digest, "user_code": user_code},
                "created_at": now,
                "expires_at": min(
                    device.expires_at, now + timedelta(seconds=ctx.settings.interaction_ttl)
                ),
            }
        )
    return interaction_id


@dataclass(frozen=True, slots=True)
class Confirmation:
    interaction: PendingInteraction
    device: DeviceCode
    client: Client
    user_code: str


EXPIRED = UnverifiedRedirect(
    "This code can no longer be confirmed",
    "It expired or was already used. Ask your device for a new code and enter it again.",
)


async def resume(ctx: Context, interaction_id: str, browser_binding: str | None) -> Confirmation:
    async with ctx.db.read() as connection:
        interaction = await InteractionRepository(connection).live(interaction_id, ctx.clock())
        if interaction is None or interaction.kind != "device":
            raise EXPIRED
        if not browser_binding or not same(interaction.binding_digest, digest(browser_binding)):
            raise UnverifiedRedirect(
                "This confirmation belongs to another browser", "Enter the code again here."
            )
        device = await DeviceCodeRepository(connection).by_device_code(
            interaction.params["device_digest"]
        )
        client = await ClientRepository(connection).by_id(device.client_id) if device else None
    if device is None or client is None or device.status is not DeviceStatus.PENDING:
        raise EXPIRED
    if not client.is_active:
        raise UnverifiedRedirect("Application unavailable", "This application is not approved.")
    return Confirmation(interaction, device, client, interaction.params["user_code"])


async def decide(
    ctx: Context,
    confirmation: Confirmation,
    session: BrowserSession,
    account: Account,
    *,
    allow: bool,
    ip: str | None,
) -> None:
    """Record the person's decision once; the device learns it at its next poll."""
    device = confirmation.device
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        if not await InteractionRepository(connection).finish(confirmation.interaction.id):
            raise EXPIRED
        values: dict[str, Any] = {"status": DeviceStatus.DENIED.value, "account_id": account.id}
        if allow:
            grant_id = await remember_consent(
                connection, account.id, device.client_id, device.scopes, now
            )
            values.update(
                status=DeviceStatus.APPROVED.value,
                grant_id=grant_id,
                auth_time=session.auth_time,
                amr=session.amr,
            )
        if not await DeviceCodeRepository(connection).decide(device.device_digest, values, now):
            raise EXPIRED
        event = "device.approved" if allow else "device.denied"
        await record(
            connection,
            AuditEvent(event, account_id=account.id, client_id=device.client_id, ip=ip),
            now,
        )
