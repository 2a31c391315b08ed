"""What every use case needs, built once by the app factory or the CLI (no module globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from resonite_auth.config import Settings
from resonite_auth.domain.time import utcnow
from resonite_auth.security.hashing_client import HashingClient
from resonite_auth.security.passwords import Passwords
from resonite_auth.security.ratelimit import InProcessLimiter, RateLimiter, build_limiter
from resonite_auth.services.keyring import KeyRing
from resonite_auth.services.mailer import Mailer, build_mailer
from resonite_auth.storage.database import Database


@dataclass
class Context:
    settings: Settings
    db: Database
    mailer: Mailer
    passwords: Passwords = field(default_factory=Passwords)
    keyring: KeyRing = field(default_factory=KeyRing)
    clock: Callable[[], datetime] = utcnow
    limiter: RateLimiter = field(default_factory=InProcessLimiter)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        db = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            pre_ping=settings.db_pool_pre_ping,
            pool_recycle=settings.db_pool_recycle,
        )
        return cls(
            settings=settings,
            db=db,
            mailer=build_mailer(settings.smtp_url, settings.mail_from, db),
            passwords=Passwords(
                concurrency=settings.password_hash_concurrency,
                service=HashingClient(settings.password_hashing_socket)
                if settings.password_hashing_socket
                else None,
            ),
            keyring=KeyRing(
                cache_seconds=settings.keyring_cache_seconds,
                retired_publish_seconds=max(settings.id_token_ttl, settings.access_token_ttl),
            ),
            limiter=build_limiter(settings.redis_url, settings.redis_prefix),
        )

    async def close(self) -> None:
        await self.limiter.close()
        await self.db.dispose()
