"""The JVM engines, from Maven Central jars cached under ~/.cache/gochat: an Apache Cassandra
node and an OpenSearch node, each a `ServerProcess` on free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from gochat.localstack.engines import REPOSITORY, ServerProcess, free_port

CASSANDRA_POM = REPOSITORY / "scripts" / "cassandra" / "pom.xml"
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


def cassandra_jars() -> Path | None:
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


OPENSEARCH_VERSION = "2.19.6"
OPENSEARCH_POMS = REPOSITORY / "scripts" / "opensearch"
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


def opensearch_home() -> Path | None:
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
