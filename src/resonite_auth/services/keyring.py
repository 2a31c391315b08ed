"""The signing key ring: which key signs now, and the public JWK set every instance serves.

Keys live in the database; each instance re-reads them after `cache_seconds`, so a rotation
made anywhere is seen everywhere without a restart. Each algorithm has one `current` key (it
signs), one `next` key (published before it signs, so verifiers already hold it when a
rotation promotes it) and `retired` keys, published until every token they signed expired.

A key never changes under its `kid`, so a reload only re-reads the rows (their status may have
changed): each private JWK is imported, and its public half worked out, once per `kid`.
Importing an RSA key validates it (about 100 ms of CPU, on the event loop), so doing it on every
reload stalled every request behind it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.keys import KeyStatus, SigningKey
from resonite_auth.domain.time import utcnow
from resonite_auth.security.keys import (
    SUPPORTED_ALGS,
    AnyKey,
    generate_private_jwk,
    import_private_jwk,
    public_jwk,
)
from resonite_auth.storage.database import Database
from resonite_auth.storage.repositories.keys import KeyRepository, current_key, next_key

CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity
class _Imported:
    """One key as imported: kept per `kid`, for as long as the kid is in the table."""

    private_jwk: dict[str, Any]
    key: AnyKey
    public_jwk: dict[str, Any]


def _import(key: SigningKey) -> _Imported:
    imported = import_private_jwk(key.private_jwk)
    return _Imported(key.private_jwk, imported, public_jwk(key.private_jwk, imported))


@dataclass
class _Loaded:
    keys: list[SigningKey]
    imported: dict[str, AnyKey]
    jwks: dict[str, Any]
    loaded_at: float


@dataclass
class KeyRing:
    cache_seconds: float = CACHE_SECONDS
    # How long a retired key stays published: the longest lifetime of anything it signed.
    retired_publish_seconds: float = 3600.0
    _loaded: _Loaded | None = field(default=None, repr=False)
    # kid → its imported key and public JWK; kids no longer in the table are dropped on reload.
    _imported: dict[str, _Imported] = field(default_factory=dict, repr=False)
    # The JWK set and the keys it lists, in order: a new dict only when that list changes,
    # so its encoded bytes are reused too (see discovery.EncodedJSON).
    _published: tuple[_Imported, ...] | None = field(default=None, repr=False)
    _jwks: dict[str, Any] = field(default_factory=dict, repr=False)

    async def ensure_signing_key(self, db: Database) -> None:
        """Make sure every supported algorithm has a current and a next key (first start), and
        import them now, at start-up, rather than on the first request that signs."""
        async with db.transaction() as connection:
            repository = KeyRepository(connection)
            await repository.lock_for_creation()
            keys = await repository.all()
            now = utcnow()
            for alg in SUPPORTED_ALGS:
                if current_key(keys, alg) is None:
                    await add_key(connection, alg, KeyStatus.CURRENT, now)
                if next_key(keys, alg) is None:
                    await add_key(connection, alg, KeyStatus.NEXT, now)
        self.invalidate()
        await self._load(db)

    def invalidate(self) -> None:
        """Re-read the keys on next use (the imported keys are kept: they cannot change)."""
        self._loaded = None

    async def signing_key(self, db: Database, alg: str = "RS256") -> tuple[str, AnyKey]:
        loaded = await self._load(db)
        key = current_key(loaded.keys, alg)
        if key is None:
            raise RuntimeError(f"no current {alg} signing key; run `resonite-auth migrate`")
        return key.kid, loaded.imported[key.kid]

    async def verification_keys(self, db: Database) -> KeySet:
        """Every key we hold, to check a token we signed (e.g. an `id_token_hint`)."""
        return KeySet(list((await self._load(db)).imported.values()))

    async def jwks(self, db: Database) -> dict[str, Any]:
        return (await self._load(db)).jwks

    def is_published(self, key: SigningKey, now: datetime) -> bool:
        if key.status is not KeyStatus.RETIRED:
            return True
        return key.retired_at is not None and now < key.retired_at + self.publish_window

    @property
    def publish_window(self) -> timedelta:
        # Another instance may still sign with a just-retired key until its cache expires.
        return timedelta(seconds=self.retired_publish_seconds + self.cache_seconds)

    async def _load(self, db: Database) -> _Loaded:
        loaded = self._loaded
        if loaded is not None and time.monotonic() - loaded.loaded_at < self.cache_seconds:
            return loaded
        async with db.read() as connection:
            keys = await KeyRepository(connection).all()
        now = utcnow()
        imported = {key.kid: self._imported_key(key) for key in keys}
        self._imported = imported
        published = tuple(imported[k.kid] for k in keys if self.is_published(k, now))
        if published != self._published:
            self._jwks = {"keys": [entry.public_jwk for entry in published]}
            self._published = published
        loaded = _Loaded(
            keys=keys,
            imported={kid: entry.key for kid, entry in imported.items()},
            jwks=self._jwks,
            loaded_at=time.monotonic(),
        )
        self._loaded = loaded
        return loaded

    def _imported_key(self, key: SigningKey) -> _Imported:
        entry = self._imported.get(key.kid)
        # Same kid, same key; comparing the JWK as well costs microseconds and keeps a reused
        # kid (a database restored over another) from being served with the wrong key.
        if entry is None or entry.private_jwk != key.private_jwk:
            entry = _import(key)
        return entry


async def add_key(
    connection: AsyncConnection, alg: str, status: KeyStatus, now: datetime
) -> SigningKey:
    jwk = generate_private_jwk(alg)
    await KeyRepository(connection).add(
        {
            "kid": jwk["kid"],
            "alg": alg,
            "status": status.value,
            "private_jwk": jwk,
            "created_at": now,
            "activated_at": now if status is KeyStatus.CURRENT else None,
        }
    )
    return SigningKey(jwk["kid"], alg, status, jwk, now, None)
