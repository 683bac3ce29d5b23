"""The shared Redis client on a real Redis Cluster: a fresh client takes a burst of concurrent
first commands (redis-py alone fails some of them in the middle of a connection handshake), and
a cluster that stops and comes back fails calls only as Unavailable."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import RedisCluster

from gochat.errors import Unavailable
from gochat.ratelimit.redis import RedisRateLimiter
from gochat.redis_client import redis_client
from tests.support.engines import RedisCluster as ClusterEngine
from tests.support.engines import redis_cluster

pytestmark = pytest.mark.timeout(60)


async def test_concurrent_first_commands_on_a_fresh_cluster_client_all_succeed(
    redis_cluster_engine: ClusterEngine,
) -> None:
    # Without the topology loaded first, about one fresh client in four failed here.
    for _ in range(20):
        client = redis_client(redis_cluster_engine.url, cluster=True)
        prefix = f"test:{secrets.token_hex(6)}:"
        try:
            counts = await asyncio.gather(*(client.incr(f"{prefix}{n}") for n in range(50)))
            assert counts == [1] * 50
        finally:
            await client.aclose()


async def test_the_cluster_client_routes_keys_to_every_master(
    redis_cluster_engine: ClusterEngine,
) -> None:
    client = redis_client(redis_cluster_engine.url, cluster=True)
    assert isinstance(client, RedisCluster)
    prefix = f"test:{secrets.token_hex(6)}:"
    try:
        await asyncio.gather(*(client.set(f"{prefix}{n}", n) for n in range(64)))
        assert [
            int(v) for v in await asyncio.gather(*(client.get(f"{prefix}{n}") for n in range(64)))
        ] == list(range(64))
        owners = {client.get_node_from_key(f"{prefix}{n}").name for n in range(64)}
        assert len(owners) == len(redis_cluster_engine.nodes)
    finally:
        await client.aclose()


async def _burst(limiter: RedisRateLimiter) -> list[BaseException | None]:
    outcomes = await asyncio.gather(
        *(limiter.hit(f"k{n}", limit=1000, window_seconds=60) for n in range(20)),
        return_exceptions=True,
    )
    return [o if isinstance(o, BaseException) else None for o in outcomes]


async def test_a_cluster_that_stops_and_comes_back_only_ever_fails_as_unavailable() -> None:
    with redis_cluster() as cluster:
        client = redis_client(cluster.url, cluster=True, timeout_seconds=1)
        limiter = RedisRateLimiter(client, prefix=f"test:{secrets.token_hex(6)}:")
        try:
            assert await _burst(limiter) == [None] * 20
            for node in cluster.nodes:
                node.stop()
            assert all(isinstance(o, Unavailable) for o in await _burst(limiter))
            for node in cluster.nodes:
                node.start()
            # While the client finds its nodes again, a call may fail, but only as Unavailable
            # (which the fallback serves); then every call goes through.
            for _ in range(60):
                outcomes = await _burst(limiter)
                assert all(o is None or isinstance(o, Unavailable) for o in outcomes), outcomes
                if outcomes == [None] * 20:
                    break
                await asyncio.sleep(0.25)
            else:
                pytest.fail("the cluster client never recovered")
        finally:
            await client.aclose()
