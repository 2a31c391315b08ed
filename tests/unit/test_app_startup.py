"""The app's start-up on a real SQLite database: what it builds is frozen out of the garbage
collector's sight, so that a full collection under load scans only what requests allocate."""

from __future__ import annotations

import gc
from pathlib import Path

from resonite_auth.config import Settings
from resonite_auth.services.context import Context
from resonite_auth.storage.migrate import upgrade
from resonite_auth.web.app import create_app


async def test_start_up_freezes_what_it_built(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/startup.db")
    ctx = Context.from_settings(settings)
    await upgrade(ctx.db)
    app = create_app(settings, context=ctx)
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        await ctx.close()
