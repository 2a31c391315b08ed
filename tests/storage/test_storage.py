"""Storage on real SQLite and PostgreSQL: migrations, atomic single use, round trips."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect

from resonite_auth.config import Settings
from resonite_auth.errors import Conflict
from resonite_auth.security.keys import AnyKey, import_private_jwk
from resonite_auth.services import keyring as keyring_module
from resonite_auth.services.accounts import NewAccount, create_account
from resonite_auth.services.clients import NewClient, create_client
from resonite_auth.services.context import Context
from resonite_auth.services.keyring import KeyRing
from resonite_auth.services.keys import rotate_key
from resonite_auth.storage.migrate import alembic_config, upgrade
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.clients import ClientRepository, authenticating_client
from resonite_auth.storage.repositories.grants import (
    CodeRepository,
    ConnectedAppRepository,
    GrantRepository,
    code_by_digest,
)
from resonite_auth.storage.repositories.housekeeping import Housekeeping
from resonite_auth.storage.repositories.keys import KeyRepository
from resonite_auth.storage.tables import metadata
from tests.support.databases import fresh_database


async def test_migrations_create_exactly_the_declared_schema(ctx: Context) -> None:
    async with ctx.db.read() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        columns = await connection.run_sync(
            lambda sync: {
                t: {c["name"] for c in inspect(sync).get_columns(t)} for t in metadata.tables
            }
        )
    assert set(metadata.tables) <= tables
    for name, table in metadata.tables.items():
        assert columns[name] == {c.name for c in table.columns}, name


def test_migrations_downgrade_and_upgrade_again(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On a separate fresh database, so the module's shared one stays intact."""
    config = alembic_config()

    def down(sync_connection: object) -> None:
        config.attributes["connection"] = sync_connection
        command.downgrade(config, "base")

    async def cycle(url: str) -> set[str]:
        other = Context.from_settings(Settings(database_url=url))
        try:
            await upgrade(other.db)
            async with other.db.engine.begin() as connection:
                await connection.run_sync(down)
            async with other.db.read() as connection:
                left = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            await upgrade(other.db)
            return left
        finally:
            await other.close()

    with fresh_database(backend, tmp_path_factory.mktemp("mig")) as url:
        left = asyncio.run(cycle(url))
    assert not (left & set(metadata.tables))


async def test_usernames_are_unique_ignoring_case(ctx: Context) -> None:
    await create_account(ctx, NewAccount("CaseTest", "case@example.com", "long enough password"))
    with pytest.raises(Conflict):
        await create_account(
            ctx, NewAccount("casetest", "other@example.com", "long enough password")
        )
    with pytest.raises(Conflict):
        await create_account(
            ctx, NewAccount("Different", "CASE@example.com", "long enough password")
        )


async def test_code_redeems_exactly_once_under_concurrency(ctx: Context) -> None:
    account = await create_account(
        ctx, NewAccount("Racer", "racer@example.com", "long enough password")
    )
    client = (
        await create_client(
            ctx, NewClient("Race", ["https://r.example/cb"], ["openid"], approve=True)
        )
    ).client
    now = datetime.now(UTC)
    async with ctx.db.transaction() as connection:
        await GrantRepository(connection).add(
            {
                "id": "g-race",
                "account_id": account.id,
                "client_id": client.client_id,
                "scopes": ["openid"],
                "created_at": now,
                "updated_at": now,
            }
        )
        await CodeRepository(connection).add(
            {
                "digest": "d" * 64,
                "grant_id": "g-race",
                "client_id": client.client_id,
                "account_id": account.id,
                "redirect_uri": "https://r.example/cb",
                "scopes": ["openid"],
                "auth_time": now,
                "amr": ["pwd"],
                "created_at": now,
                "expires_at": now + timedelta(seconds=60),
            }
        )

    async def attempt() -> bool:
        async with ctx.db.transaction() as connection:
            return await CodeRepository(connection).redeem("d" * 64, datetime.now(UTC))

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert results.count(True) == 1
    issued = await code_by_digest(ctx.db, "d" * 64)
    assert issued is not None and issued.redeemed_at is not None
    assert issued.redeemed_at.tzinfo is not None and issued.auth_time == now.replace(
        microsecond=now.microsecond
    )


async def test_signing_key_is_made_once(ctx: Context) -> None:
    await asyncio.gather(*(ctx.keyring.ensure_signing_key(ctx.db) for _ in range(3)))
    jwks = await ctx.keyring.jwks(ctx.db)
    # One current and one published next key per algorithm, however many instances start.
    assert sorted(key["alg"] for key in jwks["keys"]) == sorted(["RS256", "ES256", "EdDSA"] * 2)
    assert all("d" not in key for key in jwks["keys"])


async def test_key_ring_reload_imports_only_new_keys(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys never change under their kid: a reload re-reads the rows, imports only new kids,
    forgets kids gone from the table, and keeps the JWK set while the published kids stay."""
    ring = KeyRing(cache_seconds=0)  # every call reloads
    imports: list[str] = []

    def counting_import(jwk: dict[str, str]) -> AnyKey:
        imports.append(jwk["kid"])
        return import_private_jwk(jwk)

    monkeypatch.setattr(keyring_module, "import_private_jwk", counting_import)
    await ring.ensure_signing_key(ctx.db)
    first = await ring.jwks(ctx.db)
    async with ctx.db.read() as connection:
        kids = [key.kid for key in await KeyRepository(connection).all()]
    assert sorted(imports) == sorted(kids)

    imports.clear()
    assert await ring.jwks(ctx.db) is first
    assert imports == []

    rotation = await rotate_key(dataclasses.replace(ctx, keyring=ring), "ES256")
    after = await ring.jwks(ctx.db)
    assert imports == [rotation.next]
    assert after is not first
    published = [key["kid"] for key in after["keys"]]
    assert {rotation.retired, rotation.current, rotation.next} <= set(published)
    assert (await ring.signing_key(ctx.db, "ES256"))[0] == rotation.current
    assert rotation.retired in ring._imported

    # The retired key leaves the table (housekeeping): it leaves the cache and the JWK set.
    async with ctx.db.transaction() as connection:
        await Housekeeping(connection).unpublished_keys(datetime.now(UTC) + timedelta(days=1))
    imports.clear()
    remaining = await ring.jwks(ctx.db)
    assert imports == []
    assert rotation.retired not in ring._imported
    assert rotation.retired not in {key["kid"] for key in remaining["keys"]}
    assert rotation.retired not in {key.kid for key in (await ring.verification_keys(ctx.db)).keys}


async def test_client_and_secret_are_checked_by_the_secrets_digest(ctx: Context) -> None:
    """`authenticating_client`: the client, and whether a live secret of that client has the
    digest (keyed lookups run by the driver itself, on both databases)."""
    now = datetime.now(UTC)
    made = [
        (
            await create_client(
                ctx, NewClient(name, ["https://s.example/cb"], ["openid"], approve=True)
            )
        ).client.client_id
        for name in ("Secretive", "Other")
    ]
    client_id, other_id = made
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        await repository.add_secret(client_id, "a" * 64, now)
        await repository.revoke_secrets(client_id, now)
        await repository.add_secret(client_id, "e" * 64, now)
        await repository.add_secret(client_id, "9" * 64, now, expires_at=now + timedelta(minutes=5))
        await repository.add_secret(client_id, "8" * 64, now, expires_at=now - timedelta(minutes=5))
        await repository.add_secret(other_id, "f" * 64, now)

    async def check(client: str, secret_digest: str | None) -> bool | None:
        found = await authenticating_client(ctx.db, client, secret_digest, now)
        if found is None:
            return None
        assert found[0].client_id == client
        return found[1]

    assert await check("no-such-client", "e" * 64) is None
    assert await check(client_id, None) is False
    assert await check(client_id, "e" * 64) is True  # live
    assert await check(client_id, "a" * 64) is False  # revoked
    assert await check(client_id, "f" * 64) is False  # another client's
    assert await check(other_id, "f" * 64) is True
    assert await check(client_id, "0" * 64) is False  # no such secret
    assert await check(client_id, "9" * 64) is True  # in its grace period
    assert await check(client_id, "8" * 64) is False  # past its grace period
    # A revocation counts for the very next authentication.
    async with ctx.db.transaction() as connection:
        await ClientRepository(connection).revoke_secrets(other_id, now)
    assert await check(other_id, "f" * 64) is False


async def test_grant_is_used_only_while_live(ctx: Context) -> None:
    """`use_if_live`: marks the grant used unless it is revoked, or its account is missing or
    locked; one statement in place of reading the grant and the account."""
    account = await create_account(
        ctx, NewAccount("Liveness", "live@example.com", "long enough password")
    )
    client = (
        await create_client(ctx, NewClient("Live", ["https://l.example/cb"], ["openid"], True))
    ).client
    now = datetime.now(UTC)
    async with ctx.db.transaction() as connection:
        for grant_id in ("g-live", "g-revoked"):
            await GrantRepository(connection).add(
                {
                    "id": grant_id,
                    "account_id": account.id,
                    "client_id": client.client_id,
                    "scopes": ["openid"],
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await GrantRepository(connection).revoke("g-revoked", now)

    async def use(grant_id: str, account_id: str) -> bool:
        async with ctx.db.transaction() as connection:
            return await GrantRepository(connection).use_if_live(grant_id, account_id, now)

    async def last_used(grant_id: str) -> datetime | None:
        async with ctx.db.read() as connection:
            rows = await ConnectedAppRepository(connection).for_account(account.id)
        return {row.grant_id: row.last_used_at for row in rows}.get(grant_id)

    assert await use("g-revoked", account.id) is False
    assert await use("no-such-grant", account.id) is False
    assert await use("g-live", "no-such-account") is False
    assert await last_used("g-live") is None
    assert await use("g-live", account.id) is True
    assert await last_used("g-live") == now
    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).update(account.id, is_locked=True)
    assert await use("g-live", account.id) is False
    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).update(account.id, is_locked=False)
    assert await use("g-live", account.id) is True
