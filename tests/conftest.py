"""Fixtures: a migrated database per test (SQLite and PostgreSQL), the real server, clients."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gochat.config import Settings, async_database_url
from gochat.storage.sql import migrate as sql_migrate
from gochat.storage.sql.engine import create_engines
from tests.support.client import GraphQLClient
from tests.support.engines import (
    EtcdServer,
    NatsServer,
    RedisCluster,
    RedisServer,
    SeaweedFsServer,
    etcd_server,
    nats_server,
    postgres_server,
    redis_cluster,
    redis_server,
    seaweedfs_server,
)
from tests.support.server import RunningServer, run_server

BACKENDS = ["sqlite", "postgresql"]
TEMPLATE_DB = "gochat_template"


def _run(coroutine: Any) -> None:
    """Run a coroutine to completion from sync code, even when a loop is already running here."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    engines = create_engines(async_database_url(url))
    try:
        await sql_migrate.upgrade(engines.write)
    finally:
        await engines.dispose()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def nats_engine() -> Iterator[NatsServer]:
    """One NATS server with JetStream for the session; tests use unique subjects."""
    with nats_server() as server:
        yield server


@pytest.fixture(scope="session")
def seaweedfs_engine() -> Iterator[SeaweedFsServer]:
    """One SeaweedFS S3 endpoint for the session; tests use unique buckets or keys."""
    with seaweedfs_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_engine() -> Iterator[RedisServer]:
    """One Redis server for the session; tests use unique keys."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def etcd_engine() -> Iterator[EtcdServer]:
    """One etcd server for the session; tests use unique key prefixes."""
    with etcd_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster_engine() -> Iterator[RedisCluster]:
    """One three-master Redis Cluster for the session; tests use unique keys."""
    with redis_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cassandra_url() -> Iterator[str]:
    """A migrated keyspace on a real Cassandra node, shared by the session's tests (they use
    fresh snowflake ids, so they never meet)."""
    from gochat.storage.cql import CqlSession, parse_url
    from gochat.storage.cql import migrate as cql_migrate
    from tests.support.engines import cassandra_node

    with cassandra_node() as (host, port):
        url = f"cql://{host}:{port}/gochat_test"

        async def prepare() -> None:
            session = CqlSession(parse_url(url))
            await session.connect()
            try:
                await cql_migrate.upgrade(session)
            finally:
                await session.close()

        _run(prepare())
        yield url


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """A real OpenSearch node for the session; tests use their own index prefix."""
    from tests.support.engines import opensearch_node

    with opensearch_node() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """A migrated template database; each test clones it (fast) instead of migrating."""

    async def build() -> None:
        conn = await asyncpg.connect(postgres_admin_url)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        finally:
            await conn.close()
        await _migrate(_database_url(postgres_admin_url, TEMPLATE_DB))

    _run(build())
    return postgres_admin_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _run(_migrate(f"sqlite:///{path}"))
    return path


def _database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def postgres_database(postgres_template: str) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(postgres_template)
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await conn.close()
    yield _database_url(postgres_template, name)
    conn = await asyncpg.connect(postgres_template)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database on the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gochat.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    return url


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "jwt_secret": "test-secret-" + uuid.uuid4().hex,
        # Voice tests announce SFUs of their own (tests/sfu/ start real ones); the SFU that
        # `gochat serve` embeds by default is tested through the real command (tests/cli/).
        "sfu_embedded": False,
        "log_level": "warning",
        # Every test client comes from 127.0.0.1: per-address limits stay out of the way unless
        # a test is about them (it overrides these).
        "rate_register_per_ip": "1000/3600",
        "rate_login_per_ip": "1000/60",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the server's settings."""
    return {}


@pytest.fixture
async def server(
    database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[RunningServer]:
    settings = make_settings(database_url, tmp_path / "data", **settings_overrides)
    async with run_server(settings) as running:
        yield running


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(server.url, http)
