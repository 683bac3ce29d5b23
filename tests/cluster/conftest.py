"""A cluster of real `gochat serve` processes on one PostgreSQL database, NATS and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, running_cluster
from tests.support.engines import NatsServer, RedisCluster, RedisServer, nats_server


@pytest.fixture
async def cluster(
    postgres_database: str, nats_engine: NatsServer, redis_engine: RedisServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    """No process started yet: `await cluster.start(2)`."""
    async with running_cluster(
        tmp_path / "cluster",
        database_url=postgres_database,
        bus_url=nats_engine.url,
        redis_url=redis_engine.url,
    ) as started:
        yield started


@pytest.fixture(params=["redis", "redis-cluster"])
async def cluster_on_either_redis(
    request: pytest.FixtureRequest, cluster: Cluster
) -> AsyncIterator[Cluster]:
    """`cluster`, once on one Redis server and once on a three-node Redis Cluster."""
    if request.param == "redis-cluster":
        engine: RedisCluster = request.getfixturevalue("redis_cluster_engine")
        cluster.settings.update(GOCHAT_REDIS_URL=engine.url, GOCHAT_REDIS_CLUSTER="true")
    yield cluster


@pytest.fixture
def own_nats() -> Iterator[NatsServer]:
    """A NATS server this test alone uses, so it may stop and restart it."""
    with nats_server() as server:
        yield server


@pytest.fixture
async def cluster_on_own_nats(
    postgres_database: str, own_nats: NatsServer, redis_engine: RedisServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    async with running_cluster(
        tmp_path / "cluster",
        database_url=postgres_database,
        bus_url=own_nats.url,
        redis_url=redis_engine.url,
    ) as started:
        yield started
