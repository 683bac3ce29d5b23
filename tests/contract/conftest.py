"""Fixtures of the contract tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis, RedisCluster

from gochat.redis_client import redis_client


@pytest.fixture
def shared_redis_client(request: pytest.FixtureRequest) -> Callable[[str], Redis | RedisCluster]:
    """A new client of the session's Redis server ("redis") or Redis Cluster
    ("redis-cluster"), as wiring builds it; the caller closes it."""

    def connect(kind: str) -> Redis | RedisCluster:
        if kind == "redis-cluster":
            return redis_client(request.getfixturevalue("redis_cluster_engine").url, cluster=True)
        return redis_client(request.getfixturevalue("redis_engine").url)

    return connect
