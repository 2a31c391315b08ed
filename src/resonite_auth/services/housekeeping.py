"""Housekeeping (`resonite-auth gc` and the server's periodic run).

Deletes expired codes, tokens, sessions, interactions and client assertion jtis, retired keys
no longer published, and audit events older than the retention. Running it twice, or on two
instances at once, is harmless: each run only deletes rows that are already dead.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.housekeeping import Housekeeping

log = logging.getLogger("resonite_auth.gc")


async def collect_garbage(ctx: Context) -> dict[str, int]:
    now = ctx.clock()
    audit_cutoff = now - timedelta(days=ctx.settings.audit_retention_days)
    async with ctx.db.transaction() as connection:
        gc = Housekeeping(connection)
        return {
            "authorization_codes": await gc.expired_codes(now),
            "tokens": await gc.expired_tokens(now),
            "browser_sessions": await gc.finished_sessions(now),
            "interactions": await gc.expired_interactions(now),
            "client_assertions": await gc.expired_assertions(now),
            "signing_keys": await gc.unpublished_keys(now - ctx.keyring.publish_window),
            "audit_events": await gc.old_audit_events(audit_cutoff),
        }


async def run_periodically(ctx: Context, interval: float) -> None:
    """The server's background task; a failed run is logged and the next one tried."""
    while True:
        await asyncio.sleep(interval)
        try:
            deleted = await collect_garbage(ctx)
        except Exception:  # a database hiccup must not end housekeeping for good
            log.exception("housekeeping run failed")
            continue
        log.info("housekeeping: %s", ", ".join(f"{k}={v}" for k, v in deleted.items()))
