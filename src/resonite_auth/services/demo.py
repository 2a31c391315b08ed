"""Demo data for the README's first command: two people and the example site's client."""

from __future__ import annotations

from typing import Any

from resonite_auth.errors import Conflict
from resonite_auth.security.tokens import digest, new_secret
from resonite_auth.services.accounts import NewAccount, create_account
from resonite_auth.services.clients import NewClient, create_client
from resonite_auth.services.context import Context
from resonite_auth.services.supporters import SupporterChange, set_supporter
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.clients import ClientRepository
from resonite_auth.storage.repositories.settings import SettingsRepository

DEMO_PASSWORD = "resonite-demo-password"
DEMO_CLIENT_KEY = "demo_client_id"
DEMO_SCOPES = ["openid", "profile", "email", "patreon", "offline_access"]


async def seed_demo(ctx: Context, app_url: str) -> dict[str, Any]:
    await _ensure_account(ctx, "DemoUser", "demo@example.com", supporter=False)
    await _ensure_account(ctx, "DemoSupporter", "supporter@example.com", supporter=True)
    client_id, secret = await _ensure_client(ctx, f"{app_url.rstrip('/')}/auth/callback")
    return {
        "server": ctx.settings.issuer,
        "discovery": ctx.settings.url("/.well-known/openid-configuration"),
        "demo_username": "DemoUser",
        "supporter_username": "DemoSupporter",
        "demo_password": DEMO_PASSWORD,
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uri": f"{app_url.rstrip('/')}/auth/callback",
    }


async def _ensure_account(ctx: Context, username: str, email: str, *, supporter: bool) -> None:
    try:
        account = await create_account(
            ctx, NewAccount(username, email, DEMO_PASSWORD, is_verified=True), actor="demo"
        )
    except Conflict:
        return
    values: dict[str, Any] = {
        "tagline": "Exploring worlds since the first build.",
        "description": "A demo account on this resonite-auth server.",
        "pronouns": "they/them",
        "tags": ["demo"],
    }
    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).update(account.id, **values)
    if supporter:
        change = SupporterChange(active=True, tier_cents=1000, months=14)
        await set_supporter(ctx, account.id, change, actor="demo")


async def _ensure_client(ctx: Context, redirect_uri: str) -> tuple[str, str]:
    async with ctx.db.read() as connection:
        client_id = await SettingsRepository(connection).get(DEMO_CLIENT_KEY)
        client = await ClientRepository(connection).by_id(client_id) if client_id else None
    if client is None or redirect_uri not in client.redirect_uris:
        registered = await create_client(
            ctx,
            NewClient("Event Registration (demo)", [redirect_uri], DEMO_SCOPES, approve=True),
            actor="demo",
        )
        assert registered.secret is not None
        async with ctx.db.transaction() as connection:
            await SettingsRepository(connection).put(DEMO_CLIENT_KEY, registered.client.client_id)
        return registered.client.client_id, registered.secret
    secret = new_secret()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        await repository.revoke_secrets(client.client_id, now)
        await repository.add_secret(client.client_id, digest(secret), now)
    return client.client_id, secret
