"""Idle memory of an API process (not a test): the resident set of `gochat serve` once /ready
answers, per configuration, the median of several starts.

    python bench/rss.py [--starts 3] [--settle 2] [--configs embedded,postgresql,...]

Configurations: `embedded` (no settings: SQLite, in-process bus, presence and SFU),
`postgresql`, `postgresql+nats+redis`, `postgresql+cassandra`. The engines start the way the
tests start them (tests/support/engines.py); each start gets a database (and keyspace) of its
own, which the server migrates, as a first `gochat serve` does; a second start on the same
database is a restart (nothing to migrate). VmRSS is read from /proc `--settle` seconds after
/ready first answers, and printed in MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.engines import cassandra_node, nats_server, postgres_server, redis_server

CONFIGS = ("embedded", "postgresql", "postgresql+nats+redis", "postgresql+cassandra")
GOCHAT = Path(sys.executable).with_name("gochat")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _create_database(admin: str, name: str) -> str:
    async def create() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f"DROP DATABASE IF EXISTS {name}")
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()

    asyncio.run(create())
    return admin.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def engines(config: str) -> Iterator[Callable[[str], dict[str, str]]]:
    """The engines of `config` running; yields a function giving the settings of one start
    (a fresh data directory, database and keyspace named after it)."""
    with ExitStack() as stack:
        admin = None if config == "embedded" else stack.enter_context(postgres_server())
        shared = {"GOCHAT_LOG_LEVEL": "warning"}
        if "nats" in config:
            shared["GOCHAT_BUS_URL"] = stack.enter_context(nats_server()).url
        if "redis" in config:
            shared["GOCHAT_REDIS_URL"] = stack.enter_context(redis_server()).url
        cql = None
        if "cassandra" in config:
            host, port = stack.enter_context(cassandra_node())
            cql = f"cql://{host}:{port}"
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gochat-rss-")))

        def settings(name: str) -> dict[str, str]:
            env = {**shared, "GOCHAT_DATA_DIR": str(work / name)}
            if admin is not None:
                env["GOCHAT_DATABASE_URL"] = _create_database(admin, name)
            if cql is not None:
                env["GOCHAT_MESSAGES_URL"] = f"{cql}/{name}"
            return env

        yield settings


def idle_rss(gochat: Path, env: dict[str, str], settle: float) -> int:
    """Start `gochat serve`, wait for /ready and `settle` seconds, return VmRSS in KiB."""
    port = _free_port()
    proc = subprocess.Popen([str(gochat), "serve", "--port", str(port)], env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.1)
        time.sleep(settle)
        return vm_rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument(
        "--gochat",
        type=Path,
        default=GOCHAT,
        help="the `gochat` command to start (e.g. of a virtualenv without the test extras)",
    )
    args = parser.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configuration {sorted(unknown)[0]} (known: {', '.join(CONFIGS)})")
    print(f"started {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine={platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}")
    print(f"command: {args.gochat} serve")
    for config in configs:
        first: list[float] = []
        again: list[float] = []
        with engines(config) as settings:
            for n in range(args.starts):
                env = settings(f"rss_{config.replace('+', '_')}_{n}")
                first.append(idle_rss(args.gochat, env, args.settle) / 1024)
                again.append(idle_rss(args.gochat, env, args.settle) / 1024)
        for label, figures in (("first start", first), ("restart", again)):
            print(
                f"  {config}, {label}: idle VmRSS median {statistics.median(figures):.1f} MiB"
                f" (starts: {', '.join(f'{f:.1f}' for f in figures)})"
            )


if __name__ == "__main__":
    main()
