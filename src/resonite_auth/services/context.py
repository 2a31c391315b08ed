"""What every use case needs, built once by the app factory or the CLI (no module globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from resonite_auth.config import Settings
from resonite_auth.domain.time import utcnow
from resonite_auth.security.passwords import Passwords
from resonite_auth.services.keyring import KeyRing
from resonite_auth.storage.database import Database


@dataclass
class Context:
    settings: Settings
    db: Database
    passwords: Passwords = field(default_factory=Passwords)
    keyring: KeyRing = field(default_factory=KeyRing)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(
            settings=settings, db=Database(settings.database_url, pool_size=settings.db_pool_size)
        )

    async def close(self) -> None:
        await self.db.dispose()
