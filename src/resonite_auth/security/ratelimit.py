"""Rate limits for brute-force defence: fixed windows counted per subject (account, address).

Two implementations behind one interface: in-process (one instance) and Redis (shared by every
instance, DESIGN: "limits are shared across instances when Redis is configured"). Subjects are
hashed before they become keys, so Redis never holds usernames or addresses in clear.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from resonite_auth.security.tokens import digest

log = logging.getLogger("resonite_auth.ratelimit")


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `attempts` counted events per `window` seconds for one subject."""

    name: str
    attempts: int
    window: int


class RateLimited(Exception):
    """Too many attempts; try again after `retry_after` seconds (RFC 6585 §4, RFC 9110 §10.2.3)."""

    def __init__(self, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.message = message


class RateLimiter(Protocol):
    async def blocked(self, limit: Limit, subject: str) -> int | None:
        """Seconds until the subject may try again, or None when it may try now."""

    async def hit(self, limit: Limit, subject: str) -> None:
        """Count one event for the subject."""

    async def reset(self, limit: Limit, subject: str) -> None:
        """Forget the subject's count (after a success)."""

    async def close(self) -> None: ...


def _key(limit: Limit, subject: str) -> str:
    return f"rl:{limit.name}:{digest(subject)}"


class InProcessLimiter:
    """Counts in this process only: right for a single instance and for the CLI."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def _live(self, limit: Limit, key: str) -> tuple[float, int] | None:
        window = self._windows.get(key)
        if window is None or self._clock() - window[0] >= limit.window:
            self._windows.pop(key, None)
            return None
        return window

    async def blocked(self, limit: Limit, subject: str) -> int | None:
        window = self._live(limit, _key(limit, subject))
        if window is None or window[1] < limit.attempts:
            return None
        return math.ceil(limit.window - (self._clock() - window[0]))

    async def hit(self, limit: Limit, subject: str) -> None:
        key = _key(limit, subject)
        window = self._live(limit, key)
        started, count = window if window else (self._clock(), 0)
        self._windows[key] = (started, count + 1)
        if len(self._windows) > 100_000:  # bound memory under a flood of distinct subjects
            self._windows.pop(next(iter(self._windows)))

    async def reset(self, limit: Limit, subject: str) -> None:
        self._windows.pop(_key(limit, subject), None)

    async def close(self) -> None:
        self._windows.clear()


class RedisLimiter:
    """Counts in Redis: INCR, with the window's expiry set by the first event of the window.

    When Redis cannot be reached the limiter fails open and logs an error: sign-in keeps
    working (passwords and codes are still checked, and each instance's audit log still
    records failures) rather than every sign-in failing while Redis is down.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix

    async def blocked(self, limit: Limit, subject: str) -> int | None:
        key = self._prefix + _key(limit, subject)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                raw, pttl = await pipe.execute()
        except RedisError:
            log.error("rate limiter: Redis unreachable; %s not enforced", limit.name)
            return None
        if raw is None or int(raw) < limit.attempts:
            return None
        return math.ceil(pttl / 1000) if pttl > 0 else limit.window

    async def hit(self, limit: Limit, subject: str) -> None:
        key = self._prefix + _key(limit, subject)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, limit.window, nx=True)
                await pipe.execute()
        except RedisError:
            log.error("rate limiter: Redis unreachable; %s not counted", limit.name)

    async def reset(self, limit: Limit, subject: str) -> None:
        try:
            await self._redis.delete(self._prefix + _key(limit, subject))
        except RedisError:
            log.error("rate limiter: Redis unreachable; %s not reset", limit.name)

    async def close(self) -> None:
        await self._redis.aclose()


def build_limiter(redis_url: str | None, prefix: str) -> RateLimiter:
    return RedisLimiter(redis_url, prefix) if redis_url else InProcessLimiter()
