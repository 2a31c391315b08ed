"""The storage tests' context: one migrated database per test module and backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from resonite_auth.config import Settings
from resonite_auth.services.context import Context
from resonite_auth.storage.migrate import upgrade


@pytest.fixture(scope="module")
async def ctx(database_url: str) -> AsyncIterator[Context]:
    context = Context.from_settings(Settings(database_url=database_url))
    await upgrade(context.db)
    yield context
    await context.close()
