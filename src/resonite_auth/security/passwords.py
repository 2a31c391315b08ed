"""argon2id password hashing with rehash-on-login and a dummy verify for unknown users."""

from __future__ import annotations

import asyncio
import logging
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from resonite_auth.security.hashing_client import HashingClient, HashingUnavailable
from resonite_auth.security.password_policy import MAX_LENGTH

log = logging.getLogger(__name__)


class Passwords:
    """Hashes and checks passwords: in the server's hashing process when `service` is given
    (`hashing_service`), else in this process. Should the process fail to answer, the work is
    done here, so sign-in keeps working while the failure is logged."""

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        concurrency: int = 2,
        service: HashingClient | None = None,
    ) -> None:
        # argon2-cffi's defaults follow RFC 9106's second recommended option (argon2id).
        self._hasher = hasher or PasswordHasher()
        if concurrency < 1:
            raise ValueError("at least one password hash must be able to run")
        # Each hash holds the hasher's working memory (64 MiB) while it runs: a burst of sign-ins
        # would otherwise run one per executor thread at once and grow the process by that much
        # per thread. Beyond the cores a hash can use, more at once only costs memory.
        self._running = asyncio.Semaphore(concurrency)
        self._service = service

    @cached_property
    def _dummy_hash(self) -> str:
        # Made on first need, not at start-up: one hash takes the hasher's 64 MiB of working
        # memory, which a worker that never checks a password should not hold at its peak.
        return self._hasher.hash("dummy password to spend the same time")

    # argon2id spends tens of milliseconds of CPU by design; in a worker thread (argon2-cffi
    # releases the GIL), so the event loop keeps answering other requests meanwhile.
    async def hash(self, password: str) -> str:
        if self._service is not None:
            try:
                return await self._service.hash(password)
            except HashingUnavailable as error:
                log.warning("password hashing process unavailable, hashing here: %s", error)
        async with self._running:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches. With no stored hash, spend the same time and say no.

        A password longer than any that can be set is refused at once, whoever the account:
        the answer says nothing about it, and nobody gets to have a megabyte hashed."""
        if len(password) > MAX_LENGTH:
            return False
        if self._service is not None:
            try:
                return await self._service.verify(stored_hash, password)
            except HashingUnavailable as error:
                log.warning("password hashing process unavailable, verifying here: %s", error)
        async with self._running:
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and bool(
                stored_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
