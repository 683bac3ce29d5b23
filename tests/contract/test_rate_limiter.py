"""RateLimiter adapters: in-process, Redis and Redis Cluster, one fixed-window contract."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis, RedisCluster

from gochat.errors import RateLimited, Unavailable
from gochat.ratelimit import RateLimiter
from gochat.ratelimit.fallback import FallbackRateLimiter
from gochat.ratelimit.memory import MemoryRateLimiter
from gochat.ratelimit.redis import RedisRateLimiter
from gochat.redis_client import redis_client
from tests.support.engines import RedisServer, free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def limiter(
    request: pytest.FixtureRequest, shared_redis_client: Callable[[str], Redis | RedisCluster]
) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    client = shared_redis_client("redis-cluster" if request.param == "redis-cluster" else "redis")
    try:
        yield RedisRateLimiter(client, prefix=f"test:{secrets.token_hex(6)}:")
    finally:
        await client.aclose()


async def test_hits_up_to_the_limit_pass_and_the_next_is_limited(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit("login:ip:1", limit=3, window_seconds=60)
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("login:ip:1", limit=3, window_seconds=60)
    assert 0 < caught.value.retry_after <= 60


async def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    await limiter.hit("a", limit=1, window_seconds=60)
    await limiter.hit("b", limit=1, window_seconds=60)
    with pytest.raises(RateLimited):
        await limiter.hit("a", limit=1, window_seconds=60)


async def test_a_new_window_starts_after_the_old_one_ends(limiter: RateLimiter) -> None:
    await limiter.hit("k", limit=1, window_seconds=1)
    with pytest.raises(RateLimited):
        await limiter.hit("k", limit=1, window_seconds=1)
    await asyncio.sleep(1.1)
    await limiter.hit("k", limit=1, window_seconds=1)


async def test_concurrent_hits_never_exceed_the_limit(limiter: RateLimiter) -> None:
    async def one() -> bool:
        try:
            await limiter.hit("burst", limit=10, window_seconds=60)
        except RateLimited:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(50)))
    assert results.count(True) == 10


async def test_a_hit_counts_its_cost(limiter: RateLimiter) -> None:
    await limiter.hit("cost:user:1", limit=100, window_seconds=60, cost=60)
    await limiter.hit("cost:user:1", limit=100, window_seconds=60, cost=40)
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("cost:user:1", limit=100, window_seconds=60, cost=1)
    assert 0 < caught.value.retry_after <= 60


async def test_a_refused_hit_spends_nothing(limiter: RateLimiter) -> None:
    await limiter.hit("cost:user:2", limit=100, window_seconds=60, cost=70)
    with pytest.raises(RateLimited):
        await limiter.hit("cost:user:2", limit=100, window_seconds=60, cost=50)
    # The refused 50 was not counted: the 30 left still fit.
    await limiter.hit("cost:user:2", limit=100, window_seconds=60, cost=30)
    with pytest.raises(RateLimited):
        await limiter.hit("cost:user:2", limit=100, window_seconds=60, cost=1)


async def test_a_hit_costlier_than_the_whole_limit_is_refused_in_a_fresh_window(
    limiter: RateLimiter,
) -> None:
    with pytest.raises(RateLimited) as caught:
        await limiter.hit("cost:user:3", limit=10, window_seconds=60, cost=11)
    assert 0 < caught.value.retry_after <= 60
    await limiter.hit("cost:user:3", limit=10, window_seconds=60, cost=10)


async def test_concurrent_weighted_hits_never_exceed_the_limit(limiter: RateLimiter) -> None:
    async def one() -> int:
        try:
            await limiter.hit("weighted-burst", limit=100, window_seconds=60, cost=7)
        except RateLimited:
            return 0
        return 7

    spent = await asyncio.gather(*(one() for _ in range(40)))
    assert sum(spent) == 98


async def test_two_redis_limiters_share_one_count(redis_engine: RedisServer) -> None:
    prefix = f"test:{secrets.token_hex(6)}:"
    first, second = Redis.from_url(redis_engine.url), Redis.from_url(redis_engine.url)
    try:
        await RedisRateLimiter(first, prefix=prefix).hit("k", limit=1, window_seconds=60)
        with pytest.raises(RateLimited):
            await RedisRateLimiter(second, prefix=prefix).hit("k", limit=1, window_seconds=60)
    finally:
        await first.aclose()
        await second.aclose()


async def test_unreachable_redis_raises_unavailable() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        with pytest.raises(Unavailable):
            await RedisRateLimiter(client).hit("k", limit=1, window_seconds=60)
    finally:
        await client.aclose()


async def test_an_unreachable_redis_cluster_raises_unavailable() -> None:
    client = redis_client(f"redis://127.0.0.1:{free_port()}", cluster=True, timeout_seconds=1)
    try:
        with pytest.raises(Unavailable):
            await RedisRateLimiter(client).hit("k", limit=1, window_seconds=60)
    finally:
        await client.aclose()


async def test_the_fallback_counts_in_this_process_while_redis_is_down() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    limiter = FallbackRateLimiter(RedisRateLimiter(client), MemoryRateLimiter())
    try:
        await limiter.hit("k", limit=2, window_seconds=60)
        await limiter.hit("k", limit=2, window_seconds=60)
        assert limiter.degraded
        with pytest.raises(RateLimited):  # still a limit, counted here
            await limiter.hit("k", limit=2, window_seconds=60)
    finally:
        await client.aclose()


async def test_the_fallback_counts_costs_in_this_process_while_redis_is_down() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    limiter = FallbackRateLimiter(RedisRateLimiter(client), MemoryRateLimiter())
    try:
        await limiter.hit("k", limit=10, window_seconds=60, cost=8)
        with pytest.raises(RateLimited):
            await limiter.hit("k", limit=10, window_seconds=60, cost=3)
        await limiter.hit("k", limit=10, window_seconds=60, cost=2)
    finally:
        await client.aclose()


# --- spacing (slowmode): one action per interval, by the caller's clock ------------------


async def test_spacing_refuses_until_the_interval_has_passed_by_the_callers_clock(
    limiter: RateLimiter,
) -> None:
    start = 1_000_000.0
    await limiter.space("slow:1", interval_seconds=10, now=start)
    with pytest.raises(RateLimited) as caught:
        await limiter.space("slow:1", interval_seconds=10, now=start + 4)
    assert caught.value.retry_after == pytest.approx(6, abs=0.01)
    # A refused action is not recorded: the wait still counts from the first one.
    await limiter.space("slow:1", interval_seconds=10, now=start + 10)
    with pytest.raises(RateLimited):
        await limiter.space("slow:1", interval_seconds=10, now=start + 19)


async def test_a_retry_of_the_allowed_action_passes_and_records_nothing(
    limiter: RateLimiter,
) -> None:
    await limiter.space("slow:t", interval_seconds=10, now=100.0, token="nonce 1")
    await limiter.space("slow:t", interval_seconds=10, now=105.0, token="nonce 1")
    for other in ("nonce 2", None):
        with pytest.raises(RateLimited) as caught:
            await limiter.space("slow:t", interval_seconds=10, now=105.0, token=other)
        assert caught.value.retry_after == pytest.approx(5, abs=0.01)
    await limiter.space("slow:t", interval_seconds=10, now=110.0, token="nonce 2")


async def test_spacing_keys_are_apart(limiter: RateLimiter) -> None:
    await limiter.space("slow:a", interval_seconds=60, now=5.0)
    await limiter.space("slow:b", interval_seconds=60, now=5.0)
    with pytest.raises(RateLimited):
        await limiter.space("slow:a", interval_seconds=60, now=6.0)


async def test_concurrent_spaced_actions_let_one_through(limiter: RateLimiter) -> None:
    async def attempt() -> bool:
        try:
            await limiter.space("slow:race", interval_seconds=60, now=100.0)
        except RateLimited:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(20)))
    assert results.count(True) == 1


async def test_two_redis_limiters_share_one_spacing(redis_engine: RedisServer) -> None:
    prefix = f"test:{secrets.token_hex(6)}:"
    first, second = Redis.from_url(redis_engine.url), Redis.from_url(redis_engine.url)
    try:
        await RedisRateLimiter(first, prefix=prefix).space("k", interval_seconds=30, now=50.0)
        with pytest.raises(RateLimited):
            await RedisRateLimiter(second, prefix=prefix).space("k", interval_seconds=30, now=51.0)
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_fallback_spaces_in_this_process_while_redis_is_down() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    limiter = FallbackRateLimiter(RedisRateLimiter(client), MemoryRateLimiter())
    try:
        await limiter.space("k", interval_seconds=30, now=10.0)
        assert limiter.degraded
        with pytest.raises(RateLimited):
            await limiter.space("k", interval_seconds=30, now=11.0)
    finally:
        await client.aclose()
