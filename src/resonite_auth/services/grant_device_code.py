"""Polling with the device code at the token endpoint (RFC 8628 §3.4-3.5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from resonite_auth.domain.clients import Client
from resonite_auth.domain.device import DeviceCode, DeviceStatus
from resonite_auth.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    OAuthError,
    SlowDown,
)
from resonite_auth.oauth.device import SLOW_DOWN_STEP
from resonite_auth.oauth.params import Params
from resonite_auth.security.tokens import digest
from resonite_auth.services.context import Context
from resonite_auth.services.issuing import Issue, issue_tokens, token_response
from resonite_auth.storage.repositories.device import DeviceCodeRepository
from resonite_auth.storage.repositories.grants import GrantRepository

INVALID_DEVICE_CODE = "The device code is invalid or was already used."


async def poll(ctx: Context, client: Client, params: Params) -> dict[str, Any]:
    device_digest = digest(params.require("device_code"))
    outcome: OAuthError | None = None
    async with ctx.db.transaction() as connection:
        repository = DeviceCodeRepository(connection)
        device = await repository.by_device_code(device_digest, lock=True)
        if device is None or device.client_id != client.client_id:
            raise InvalidGrant(INVALID_DEVICE_CODE, detail="unknown or another client's code")
        outcome = _answer_before_tokens(ctx, device)
        if isinstance(outcome, SlowDown):
            interval = device.interval + SLOW_DOWN_STEP
            await repository.record_poll(device_digest, ctx.clock(), interval)
        elif outcome is None or not isinstance(outcome, InvalidGrant | ExpiredToken):
            await repository.record_poll(device_digest, ctx.clock(), device.interval)
        if outcome is None:
            if not await repository.redeem(device_digest):
                outcome = InvalidGrant(INVALID_DEVICE_CODE, detail="redeemed concurrently")
            else:
                issue = await _issue_for(connection, device, client)
                await GrantRepository(connection).mark_used(issue.grant_id, ctx.clock())
                issued = await issue_tokens(connection, ctx, issue)
    if outcome is not None:
        raise outcome
    return await token_response(ctx, issued, issue, nonce=None)


def _answer_before_tokens(ctx: Context, device: DeviceCode) -> OAuthError | None:
    """The RFC 8628 §3.5 answer for this poll, or None when tokens are due."""
    now = ctx.clock()
    if device.status is DeviceStatus.REDEEMED:
        return InvalidGrant(INVALID_DEVICE_CODE, detail="device code already redeemed")
    if now >= device.expires_at:
        return ExpiredToken("The device code expired. Start again.")
    if device.last_polled_at is not None and now - device.last_polled_at < timedelta(
        seconds=device.interval
    ):
        return SlowDown(f"Poll at most every {device.interval + SLOW_DOWN_STEP} seconds.")
    if device.status is DeviceStatus.PENDING:
        return AuthorizationPending("The user has not decided yet.")
    if device.status is DeviceStatus.DENIED:
        return AccessDenied("The user denied the request.")
    return None


async def _issue_for(connection: Any, device: DeviceCode, client: Client) -> Issue:
    assert device.grant_id is not None and device.account_id is not None
    grant = await GrantRepository(connection).by_id(device.grant_id)
    if grant is None or grant.revoked_at is not None:
        raise InvalidGrant(INVALID_DEVICE_CODE, detail="grant revoked before redemption")
    return Issue(
        grant_id=device.grant_id,
        client_id=client.client_id,
        account_id=device.account_id,
        scopes=device.scopes,
        refresh_scopes=device.scopes if "offline_access" in device.scopes else None,
        auth_time=device.auth_time or device.created_at,
        amr=device.amr,
    )
