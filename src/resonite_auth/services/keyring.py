"""The signing key ring: which key signs now, and the public JWK set every instance serves.

Keys live in the database; each instance re-reads them after a short time, so a rotation made
anywhere is seen everywhere without a restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import KeySet

from resonite_auth.domain.keys import KeyStatus, SigningKey
from resonite_auth.domain.time import utcnow
from resonite_auth.security.keys import AnyKey, generate_private_jwk, import_private_jwk, public_jwk
from resonite_auth.storage.database import Database
from resonite_auth.storage.repositories.keys import KeyRepository, current_key

CACHE_SECONDS = 10.0


@dataclass
class _Loaded:
    keys: list[SigningKey]
    imported: dict[str, AnyKey]
    jwks: dict[str, Any]
    loaded_at: float


@dataclass
class KeyRing:
    cache_seconds: float = CACHE_SECONDS
    _loaded: _Loaded | None = field(default=None, repr=False)

    async def ensure_signing_key(self, db: Database) -> None:
        """Make the first RS256 key on first start (DESIGN: kept in the database)."""
        async with db.transaction() as connection:
            repository = KeyRepository(connection)
            await repository.lock_for_creation()
            if current_key(await repository.all()) is not None:
                return
            jwk = generate_private_jwk("RS256")
            now = utcnow()
            await repository.add(
                {
                    "kid": jwk["kid"],
                    "alg": "RS256",
                    "status": KeyStatus.CURRENT.value,
                    "private_jwk": jwk,
                    "created_at": now,
                    "activated_at": now,
                }
            )
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

    async def _load(self, db: Database) -> _Loaded:
        loaded = self._loaded
        if loaded is not None and time.monotonic() - loaded.loaded_at < self.cache_seconds:
            return loaded
        async with db.read() as connection:
            keys = await KeyRepository(connection).all()
        published = [k for k in keys if k.status is not KeyStatus.RETIRED or k.retired_at]
        loaded = _Loaded(
            keys=keys,
            imported={k.kid: import_private_jwk(k.private_jwk) for k in keys},
            jwks={"keys": [public_jwk(k.private_jwk) for k in published]},
            loaded_at=time.monotonic(),
        )
        self._loaded = loaded
        return loaded
