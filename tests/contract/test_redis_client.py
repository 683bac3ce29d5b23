"""The shared Redis client on a real Redis Cluster: a fresh client takes a burst of concurrent
first commands (redis-py alone fails some of them in the middle of a connection handshake)."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import RedisCluster

from gochat.redis_client import redis_client
from tests.support.engines import RedisCluster as ClusterEngine

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
