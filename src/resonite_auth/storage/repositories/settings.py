"""Server-wide settings changed at run time (kept in the database so every instance agrees)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.storage.tables import server_settings


class SettingsRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def get(self, key: str) -> Any:
        query = select(server_settings.c.value).where(server_settings.c.key == key)
        row = (await self._db.execute(query)).first()
        return None if row is None else row[0]

    async def put(self, key: str, value: Any) -> None:
        result = await self._db.execute(
            update(server_settings).where(server_settings.c.key == key).values(value=value)
        )
        if result.rowcount == 0:
            await self._db.execute(insert(server_settings).values(key=key, value=value))
