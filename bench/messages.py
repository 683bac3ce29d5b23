"""Message benchmarks (not a test): sendMessage throughput through GraphQL, and history-page
latency at depth in one channel.

    python bench/messages.py --backend sqlite|postgresql [--runs 3] [--seconds 10]
        [--concurrency 32] [--depth 100000]

The server runs as a separate `gochat serve` process (as in production); this process is the
client. History depth is filled through the message store directly (sending 100,000 messages
through GraphQL would measure the send path again), then pages of 50 are read through GraphQL
at random depths. Figures are medians over the runs; latency percentiles pool every request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gochat.config import async_database_url
from gochat.ids import SnowflakeGenerator
from gochat.storage.sql.engine import create_engines
from gochat.storage.sql.tables import messages as messages_table
from tests.support.engines import postgres_server

SEND = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"
PAGE = "query($c: ID!, $b: String) { channel(id: $c) { messages(last: 50, before: $b) { edges { node { id } } } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database_url: str, data_dir: Path, messages_url: str | None = None) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "GOCHAT_DATABASE_URL": database_url,
        "GOCHAT_DATA_DIR": str(data_dir),
        "GOCHAT_LOG_LEVEL": "warning",
        "GOCHAT_RATE_LOGIN_PER_IP": "10000/60",
        "GOCHAT_RATE_REGISTER_PER_IP": "10000/60",
    }
    if messages_url:
        env["GOCHAT_MESSAGES_URL"] = messages_url
    gochat = Path(sys.executable).with_name("gochat")
    proc = subprocess.Popen([str(gochat), "serve", "--port", str(port)], env=env)
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
        yield url
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
    try:
        with _database(backend, work) as (database_url, messages_url):
            rates: list[float] = []
            latencies: list[float] = []
            for n in range(args.runs):
                with serve(database_url, work / "data", messages_url) as url:
                    token, guild, channel = asyncio.run(setup_user_and_channel(url))
                    rates.append(
                        asyncio.run(
                            measure_send(
                                url,
                                token,
                                channel,
                                seconds=args.seconds,
                                concurrency=args.concurrency,
                            )
                        )
                    )
                    if n == 0:
                        me = asyncio.run(user_id_of(url, token))
                        filled = asyncio.run(
                            fill_history(database_url, int(guild), int(channel), me, args.depth)
                        )
                        history_channel = channel
                        history_token = token
                    latencies += asyncio.run(
                        measure_history(
                            url, history_token, history_channel, filled, requests=args.requests
                        )
                    )
            print(
                f"backend={backend} machine={platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}"
            )
            print(
                f"  sendMessage/s per run: {', '.join(f'{r:.0f}' for r in rates)}  median={statistics.median(rates):.0f}"
            )
            print(
                f"  history page (50 at depth {args.depth}): p50={pct(latencies, 0.5):.2f} ms p99={pct(latencies, 0.99):.2f} ms over {len(latencies)} requests"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
    args = parser.parse_args()
    print(f"started {datetime.now(UTC).isoformat(timespec='seconds')}")
    run(args.backend, args)


if __name__ == "__main__":
    main()
