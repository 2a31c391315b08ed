"""Apply Alembic migrations to the configured database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from resonite_auth.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    config = alembic_config()

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    # Migrations use a normal (non-IMMEDIATE-tagged) transaction: DDL needs the write lock anyway.
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade)
