"""Message benchmarks (not a test): sendMessage throughput through GraphQL, and history-page
latency at depth in one channel.

    python bench/messages.py --backend sqlite|postgresql|cassandra [--runs 3] [--seconds 10]
        [--concurrency 32] [--depth 100000] [--client go|python] [--profile DIR]
        [--workers 1,2]

`--workers 1,2` serves with `gochat serve --workers N` for each N in turn within every run
(NATS and Redis then join the database, as several processes need them, for every N alike),
and prints each N's sends/s with the median of the per-run ratios to the first N. The server's
CPU is the supervisor's and its children's; the whole machine's busy share (engines and client included)
says whether the machine's cores, not the server, capped the rate.

The server runs as a separate `gochat serve` process (as in production). sendMessage load
comes from bench/sendload (Go, built here with `go build`) unless `--client python`: the httpx
client costs about a millisecond of CPU per request, on the core the server does not use, and
became the bottleneck once the server got faster. History pages are read by this process, one
at a time. The CPU share of a core that the server and the client used while sending is
printed with the rate, and the server's CPU per send (its share over the rate). History depth is filled through the message store directly (sending 100,000 messages
through GraphQL would measure the send path again), then pages of 50 are read through GraphQL
at random depths. Figures are medians over the runs; latency percentiles pool every request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.process_cpu import cpu_seconds, machine_cpu
from gochat.config import async_database_url
from gochat.ids import SnowflakeGenerator
from gochat.storage.sql.engine import create_engines
from gochat.storage.sql.tables import messages as messages_table
from tests.support.engines import postgres_server

SEND = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"
PAGE = "query($c: ID!, $b: String) { channel(id: $c) { ... on TextChannel { messages(last: 50, before: $b) { edges { node { id } } } } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def py_spy(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Sample the server with py-spy (pip install py-spy), folded stacks for flamegraph.pl."""
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--nonblocking", "-r", "250", "-f", "raw"]
    command += ["-d", str(max(1, int(seconds))), "-o", str(output), "-p", str(pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class Server:
    url: str
    pid: int


@contextmanager
def serve(
    database_url: str,
    data_dir: Path,
    messages_url: str | None = None,
    *,
    processes: int = 1,
    shared: dict[str, str] | None = None,
) -> Iterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "GOCHAT_DATABASE_URL": database_url,
        "GOCHAT_DATA_DIR": str(data_dir),
        "GOCHAT_LOG_LEVEL": "warning",
        "GOCHAT_RATE_LOGIN_PER_IP": "10000/60",
        "GOCHAT_RATE_REGISTER_PER_IP": "10000/60",
        # A benchmark drives one account far past any person's query cost rate.
        "GOCHAT_RATE_COST_PER_USER": "1000000000/60",
    }
    if messages_url:
        env["GOCHAT_MESSAGES_URL"] = messages_url
    env.update(shared or {})
    gochat = Path(sys.executable).with_name("gochat")
    command = [str(gochat), "serve", "--port", str(port), "--workers", str(processes)]
    proc = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


async def _gql(
    http: httpx.AsyncClient,
    url: str,
    query: str,
    variables: dict[str, object],
    token: str | None = None,
) -> dict:  # type: ignore[type-arg]
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = await http.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]  # type: ignore[no-any-return]


async def setup_user_and_channel(url: str) -> tuple[str, str, str]:
    async with httpx.AsyncClient(timeout=30) as http:
        handle = f"bench{random.randrange(10**9)}"
        await _gql(
            http,
            url,
            "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
            {
                "i": {
                    "email": f"{handle}@example.com",
                    "handle": handle,
                    "displayName": "Bench",
                    "password": "benchmark-password",
                }
            },
        )
        login = await _gql(
            http,
            url,
            "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }",
            {"i": {"email": f"{handle}@example.com", "password": "benchmark-password"}},
        )
        token = login["login"]["session"]["accessToken"]
        guild = await _gql(
            http,
            url,
            'mutation { createGuild(input: {name: "Bench"}) { guild { id channels { id type } } } }',
            {},
            token,
        )
        channel = next(
            c["id"] for c in guild["createGuild"]["guild"]["channels"] if c["type"] == "TEXT"
        )
        return token, guild["createGuild"]["guild"]["id"], channel


ROOT = Path(__file__).resolve().parent.parent


def build_sendload(into: Path) -> Path:
    binary = into / "sendload"
    subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "sendload", check=True
    )
    return binary


def measure_send_go(
    binary: Path, url: str, token: str, channel: str, *, seconds: float, concurrency: int
) -> float:
    """The Go client (bench/sendload): the same closed loop, at a few tens of microseconds of
    client CPU per request instead of about a millisecond."""
    done = subprocess.run(
        [
            str(binary),
            f"-url={url}/graphql",
            f"-token={token}",
            f"-channel={channel}",
            f"-concurrency={concurrency}",
            f"-seconds={seconds}s",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout)
    if result["failed"]:
        print(f"  {result['failed']} sends failed: {result['codes']} {result['first_error']}")
    return float(result["rate"])


def client_cpu_seconds() -> float:
    """CPU of this process and of its finished children (the Go client)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


async def measure_send(
    url: str, token: str, channel: str, *, seconds: float, concurrency: int
) -> float:
    sent = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < deadline:
                await _gql(http, url, SEND, {"c": channel, "t": "benchmark message"}, token)
                sent += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return sent / (time.perf_counter() - start)


async def fill_history(
    database_url: str, guild_id: int, channel_id: int, author_id: int, depth: int
) -> list[int]:
    engines = create_engines(async_database_url(database_url))
    ids = SnowflakeGenerator(1023)
    made: list[int] = []
    try:
        for start in range(0, depth, 5000):
            rows = []
            for _ in range(min(5000, depth - start)):
                mid = ids.next_id()
                made.append(mid)
                rows.append(
                    {
                        "channel_id": channel_id,
                        "id": mid,
                        "guild_id": guild_id,
                        "author_id": author_id,
                        "type": 0,
                        "content": "history filler",
                        "reference_id": None,
                        "mention_user_ids": "[]",
                        "mention_role_ids": "[]",
                        "mention_everyone": False,
                        "pinned": False,
                        "edited_at": None,
                    }
                )
            async with engines.write.begin() as conn:
                await conn.execute(messages_table.insert(), rows)
    finally:
        await engines.dispose()
    return made


async def measure_history(
    url: str, token: str, channel: str, ids: list[int], *, requests: int
) -> list[float]:
    from gochat.schema.common import encode_cursor

    latencies = []
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(requests):
            pivot = random.choice(ids[50:])
            t0 = time.perf_counter()
            await _gql(http, url, PAGE, {"c": channel, "b": encode_cursor("message", pivot)}, token)
            latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def user_id_of(url: str, token: str) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        return int((await _gql(http, url, "{ me { id } }", {}, token))["me"]["id"])


def run(backend: str, args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="gochat-bench-"))
    counts: list[int] = args.workers
    try:
        with _database(backend, work) as (database_url, messages_url), _shared(counts) as shared:
            rates: dict[int, list[float]] = {n: [] for n in counts}
            latencies: list[float] = []
            shares: dict[int, list[tuple[float, float]]] = {n: [] for n in counts}
            machine: dict[int, list[float]] = {n: [] for n in counts}
            sendload = build_sendload(work) if args.client == "go" else None
            for n in range(args.runs):
                for processes in counts:
                    first = processes == counts[0]
                    with serve(
                        database_url,
                        work / "data",
                        messages_url,
                        processes=processes,
                        shared=shared,
                    ) as server:
                        url = server.url
                        token, guild, channel = asyncio.run(setup_user_and_channel(url))
                        spy = None
                        if args.profile is not None and n == 0 and first:
                            args.profile.mkdir(parents=True, exist_ok=True)
                            spy = py_spy(
                                server.pid, args.seconds, args.profile / f"send-{backend}.txt"
                            )
                        cpu_server, cpu_client = cpu_seconds(server.pid), client_cpu_seconds()
                        busy, total = machine_cpu()
                        started = time.perf_counter()
                        if sendload is not None:
                            rate = measure_send_go(
                                sendload,
                                url,
                                token,
                                channel,
                                seconds=args.seconds,
                                concurrency=args.concurrency,
                            )
                        else:
                            rate = asyncio.run(
                                measure_send(
                                    url,
                                    token,
                                    channel,
                                    seconds=args.seconds,
                                    concurrency=args.concurrency,
                                )
                            )
                        rates[processes].append(rate)
                        elapsed = time.perf_counter() - started
                        busy_after, total_after = machine_cpu()
                        shares[processes].append(
                            (
                                (cpu_seconds(server.pid) - cpu_server) / elapsed,
                                (client_cpu_seconds() - cpu_client) / elapsed,
                            )
                        )
                        machine[processes].append(
                            (busy_after - busy) / max(1.0, total_after - total)
                        )
                        if spy is not None:
                            spy.wait(60)
                        if not first:
                            continue
                        if n == 0:
                            me = asyncio.run(user_id_of(url, token))
                            filled = asyncio.run(
                                fill_history(database_url, int(guild), int(channel), me, args.depth)
                            )
                            history_channel = channel
                            history_token = token
                        if spy is not None:
                            spy = py_spy(server.pid, 5, args.profile / f"history-{backend}.txt")
                        latencies += asyncio.run(
                            measure_history(
                                url, history_token, history_channel, filled, requests=args.requests
                            )
                        )
                        if spy is not None:
                            spy.wait(60)
            print(
                f"backend={backend} client={args.client} machine={platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}"
            )
            for processes in counts:
                label = f" workers={processes}" if len(counts) > 1 or processes > 1 else ""
                print(
                    f" {label} sendMessage/s per run: {', '.join(f'{r:.0f}' for r in rates[processes])}  median={statistics.median(rates[processes]):.0f}"
                )
                print(
                    "  CPU share of a core while sending (server/client): "
                    + ", ".join(f"{a:.0%}/{b:.0%}" for a, b in shares[processes])
                )
                per_send = [
                    share / rate * 1000
                    for (share, _), rate in zip(shares[processes], rates[processes], strict=True)
                ]
                print(
                    "  machine busy while sending (all cores, engines included): "
                    + ", ".join(f"{m:.0%}" for m in machine[processes])
                )
                print(
                    "  API process CPU per send: "
                    + ", ".join(f"{ms:.2f}" for ms in per_send)
                    + f" ms  median={statistics.median(per_send):.2f} ms"
                )
                if processes != counts[0]:
                    ratios = [
                        b / a for a, b in zip(rates[counts[0]], rates[processes], strict=True)
                    ]
                    print(
                        f"  workers={processes} / workers={counts[0]}: {', '.join(f'{r:.2f}' for r in ratios)}  median={statistics.median(ratios):.2f}x"
                    )
            print(
                f"  history page (50 at depth {args.depth}): p50={pct(latencies, 0.5):.2f} ms p99={pct(latencies, 0.99):.2f} ms over {len(latencies)} requests"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _shared(counts: list[int]) -> Iterator[dict[str, str]]:
    """The bus and Redis that several processes behind one port need (for every count)."""
    if max(counts) == 1:
        yield {}
        return
    from tests.support.engines import nats_server, redis_server

    with nats_server() as nats, redis_server() as redis:
        # The processes must share one signing secret: a token from one is checked by another.
        yield {
            "GOCHAT_BUS_URL": nats.url,
            "GOCHAT_REDIS_URL": redis.url,
            "GOCHAT_JWT_SECRET": "bench-" + os.urandom(16).hex(),
        }


@contextmanager
def _database(backend: str, work: Path) -> Iterator[tuple[str, str | None]]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'bench.db'}", None
        return
    if backend == "cassandra":
        from tests.support.engines import cassandra_node

        with _database("postgresql", work) as (database_url, _), cassandra_node() as (host, port):
            yield database_url, f"cql://{host}:{port}/bench"
        return
    with postgres_server() as admin:

        async def create() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute("CREATE DATABASE bench")
            await conn.close()

        asyncio.run(create())
        yield admin.rsplit("/", 1)[0] + "/bench", None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "cassandra"], default="sqlite"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--client",
        choices=["go", "python"],
        default="go",
        help="load generator for sendMessage: bench/sendload (Go) or httpx in this process",
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy the server in the first run into this directory"
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1],
        help="API processes behind the port (`serve --workers N`); a list compares them",
    )
    args = parser.parse_args()
    print(f"started {datetime.now(UTC).isoformat(timespec='seconds')}")
    run(args.backend, args)


if __name__ == "__main__":
    main()
