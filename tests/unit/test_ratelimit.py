"""The two rate limiter implementations: in-process (with a test clock) and real Redis."""

from __future__ import annotations

import secrets

import pytest
from redis.asyncio import Redis

from resonite_auth.security.ratelimit import InProcessLimiter, Limit, RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = Limit("test", attempts=3, window=60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_in_process_trips_after_the_limit_and_reopens_after_the_window() -> None:
    clock = Clock()
    limiter = InProcessLimiter(clock)
    for _ in range(3):
        assert await limiter.blocked(LIMIT, "alice") is None
        await limiter.hit(LIMIT, "alice")
    clock.now += 10
    assert await limiter.blocked(LIMIT, "alice") == 50
    assert await limiter.blocked(LIMIT, "bob") is None  # per subject
    clock.now += 50
    assert await limiter.blocked(LIMIT, "alice") is None


async def test_in_process_reset_forgets_the_subject() -> None:
    limiter = InProcessLimiter(Clock())
    for _ in range(3):
        await limiter.hit(LIMIT, "carol")
    assert await limiter.blocked(LIMIT, "carol") is not None
    await limiter.reset(LIMIT, "carol")
    assert await limiter.blocked(LIMIT, "carol") is None


@pytest.fixture()
def prefix() -> str:
    return f"test-{secrets.token_hex(6)}:"


async def test_redis_trips_resets_and_is_shared_between_instances(prefix: str) -> None:
    first, second = RedisLimiter(REDIS_URL, prefix), RedisLimiter(REDIS_URL, prefix)
    try:
        for _ in range(2):
            await first.hit(LIMIT, "dave")
        await second.hit(LIMIT, "dave")  # another instance counts into the same window
        wait = await first.blocked(LIMIT, "dave")
        assert wait is not None and 0 < wait <= LIMIT.window
        assert await second.blocked(LIMIT, "dave") == wait
        assert await first.blocked(LIMIT, "erin") is None
        await second.reset(LIMIT, "dave")
        assert await first.blocked(LIMIT, "dave") is None
    finally:
        await first.close()
        await second.close()


async def test_redis_keys_expire_with_the_window_and_hide_the_subject(prefix: str) -> None:
    limiter = RedisLimiter(REDIS_URL, prefix)
    raw = Redis.from_url(REDIS_URL)
    try:
        await limiter.hit(LIMIT, "198.51.100.7")
        keys = [key.decode() async for key in raw.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 1 and "198.51.100.7" not in keys[0]
        ttl = await raw.ttl(keys[0])
        assert 0 < ttl <= LIMIT.window  # the window ends by itself: Redis expires the count
        await limiter.hit(LIMIT, "198.51.100.7")
        assert 0 < await raw.ttl(keys[0]) <= ttl  # later hits do not extend the window
        await raw.delete(*keys)
    finally:
        await limiter.close()
        await raw.aclose()


async def test_redis_unreachable_fails_open() -> None:
    # Port 1 on loopback: nothing listens, so every command fails to connect.
    limiter = RedisLimiter("redis://127.0.0.1:1/0", "down:")
    try:
        await limiter.hit(LIMIT, "frank")
        assert await limiter.blocked(LIMIT, "frank") is None
        await limiter.reset(LIMIT, "frank")
    finally:
        await limiter.close()
