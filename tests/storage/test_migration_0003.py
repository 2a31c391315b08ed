"""Migration 0003 (token lifecycle) upgrades, downgrades and upgrades again on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from resonite_auth.storage.database import Database
from resonite_auth.storage.migrate import alembic_config, upgrade

NEW_CLIENT_COLUMNS = {
    "is_resource_server",
    "access_token_format",
    "id_token_signed_response_alg",
    "jwks",
}


async def _downgrade(database: Database, revision: str) -> None:
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def _shape(database: Database) -> tuple[set[str], set[str]]:
    def read(connection: Connection) -> tuple[set[str], set[str]]:
        inspector = inspect(connection)
        columns = {column["name"] for column in inspector.get_columns("clients")}
        return columns, set(inspector.get_table_names())

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)


async def test_0003_round_trip(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade(database)
        columns, tables = await _shape(database)
        assert columns >= NEW_CLIENT_COLUMNS and "client_assertion_jtis" in tables

        await _downgrade(database, "0002")
        columns, tables = await _shape(database)
        assert not columns & NEW_CLIENT_COLUMNS and "client_assertion_jtis" not in tables

        await upgrade(database)
        columns, tables = await _shape(database)
        assert columns >= NEW_CLIENT_COLUMNS and "client_assertion_jtis" in tables
    finally:
        await database.dispose()
