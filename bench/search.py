"""Search benchmarks (not a test): indexing throughput through the indexer, query latency
under a permission filter, and send-to-searchable lag through a running server.

    python bench/search.py [--messages 100000] [--channels 200] [--visible 150]
                           [--engines sqlite,postgresql,opensearch] [--queries 200]
                           [--lag-seconds 15] [--lag-rate 200] [--lag-senders 48]

- Corpus: `--messages` messages in `--channels` channels of one guild, from 500 authors; words
  drawn from a 30,000-word vocabulary with Zipf-like frequencies (weight 1/rank^1.07, as in
  natural text), 3 to 30 words a message; 5 % carry a link, 10 % a mention.
- Indexing: the corpus as MessageCreated events through SearchIndexer.handle in batches of its
  batch size (the worker's own path, attachments looked up in SQL per batch); messages/s.
- Queries: p50 and p99 over `--queries` runs of each shape, each limited to `--visible` random
  channels (what the domain hands the index for a viewer): a common word, a rare word, two
  words, a phrase, a prefix, and filters without text (an author and has:link).
- Engines: `sqlite` (FTS5, the embedded default), `postgresql` (full text in the relational
  store, a throwaway PostgreSQL cluster), `opensearch` (a node started from the Maven jars).
- Lag (embedded server only): `gochat serve` on SQLite; messages sent at --lag-rate over GraphQL
  by the paced Go client (bench/sendload) for `--lag-seconds`, while the index is read beside
  the server every 5 ms; p50/p99 of the time from a send's answer to its document being in the
  index (searchable).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.messages import build_sendload
from gochat.config import async_database_url
from gochat.domain.events import MessageCreated
from gochat.domain.records import Mentions, Message, MessageType
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.search import Has, SearchIndex, SearchQuery, Term
from gochat.search.opensearch import OpenSearchIndex
from gochat.search.postgres import PostgresSearchIndex
from gochat.search.sqlite import SqliteSearchIndex
from gochat.storage.sql import SqlRelationalStore
from gochat.storage.sql import migrate as sql_migrate
from gochat.workers.indexer import SearchIndexer
from tests.support.engines import free_port, own_opensearch_node, postgres_server

GUILD = Snowflake(1)
SYLLABLES = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"] + ["an", "en", "in", "on", "ul"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words, key=lambda w: (len(w), w))


@functools.cache
def corpus(count: int, channels: int, seed: int) -> tuple[list[Message], list[str]]:
    rng = random.Random(seed)
    words = vocabulary(30_000, rng)
    # Cumulative once: choices() with plain weights sums all 30,000 of them on every call.
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.07 for rank in range(len(words))))
    ids = SnowflakeGenerator(900)
    channel_ids = [Snowflake(1000 + c) for c in range(channels)]
    messages = []
    for _ in range(count):
        text = " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(3, 30)))
        if rng.random() < 0.05:
            text += f" https://example.com/{rng.choice(words)}"
        mentioned = (Snowflake(rng.randint(1, 500)),) if rng.random() < 0.1 else ()
        messages.append(
            Message(
                id=ids.next_id(),
                channel_id=rng.choice(channel_ids),
                guild_id=GUILD,
                author_id=Snowflake(rng.randint(1, 500)),
                type=MessageType.DEFAULT,
                content=text,
                reference_id=None,
                mentions=Mentions(user_ids=mentioned),
                pinned=False,
                edited_at=None,
            )
        )
    return messages, words


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def index_corpus(indexer: SearchIndexer, messages: list[Message]) -> float:
    ids = SnowflakeGenerator(901)
    events = [MessageCreated(event_id=ids.next_id(), message=m) for m in messages]
    begun = time.perf_counter()
    for start in range(0, len(events), indexer.batch_size):
        await indexer.handle(events[start : start + indexer.batch_size])
    return len(events) / (time.perf_counter() - begun)


async def query_latencies(
    index: SearchIndex,
    messages: list[Message],
    words: list[str],
    *,
    channels: int,
    visible: int,
    runs: int,
    rng: random.Random,
) -> dict[str, tuple[float, float]]:
    channel_ids = [Snowflake(1000 + c) for c in range(channels)]

    def phrase() -> list[Term]:
        text = rng.choice(messages).content.split()
        at = rng.randrange(len(text) - 1)
        return [Term(f"{text[at]} {text[at + 1]}", phrase=True)]

    shapes = {
        "common word": lambda: [Term(rng.choice(words[:20]))],
        "rare word": lambda: [Term(rng.choice(words[5000:20000]))],
        "two words": lambda: [Term(rng.choice(words[20:500])), Term(rng.choice(words[20:500]))],
        "phrase": phrase,
        "prefix": lambda: [Term(rng.choice(words[200:2000])[:3], prefix=True)],
        "author + has:link": lambda: [],
    }
    results = {}
    for name, terms in shapes.items():
        taken = []
        for _ in range(runs):
            filters_only = name == "author + has:link"
            query = SearchQuery(
                channel_ids=rng.sample(channel_ids, visible),
                terms=terms(),
                author_ids=[Snowflake(rng.randint(1, 500))] if filters_only else [],
                has=Has.LINK if filters_only else Has(0),
                limit=26,
            )
            begun = time.perf_counter()
            await index.search(query)
            taken.append((time.perf_counter() - begun) * 1000)
        results[name] = (statistics.median(taken), percentile(taken, 0.99))
    return results


@contextmanager
def engine(kind: str, root: Path) -> Iterator[tuple[str, str | None]]:
    """(database URL, search URL) for an engine kind."""
    database = f"sqlite:///{root / 'bench.db'}"
    if kind == "sqlite":
        yield database, None
        return
    if kind == "postgresql":
        with postgres_server() as url:
            yield url, None
        return
    with own_opensearch_node() as node:
        yield database, f"{node.url}/bench{uuid.uuid4().hex[:8]}"


async def bench_engine(kind: str, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    messages, words = corpus(args.messages, args.channels, 7)
    with tempfile.TemporaryDirectory() as tmp, engine(kind, Path(tmp)) as (database, search_url):
        store = SqlRelationalStore.from_url(async_database_url(database))
        await sql_migrate.upgrade(store.engines.write)
        index: SearchIndex
        if kind == "postgresql":
            index = PostgresSearchIndex(store.engines)
        elif search_url is None:
            index = SqliteSearchIndex(store.engines)
        else:
            index = await OpenSearchIndex.connect(search_url)
        try:
            indexer = SearchIndexer(index, store.files.attachments_of)
            rate = await index_corpus(indexer, messages)
            await index.refresh()
            print(f"[{kind}] indexed {len(messages)} messages: {rate:,.0f} messages/s")
            latencies = await query_latencies(
                index,
                messages,
                words,
                channels=args.channels,
                visible=args.visible,
                runs=args.queries,
                rng=rng,
            )
            for name, (p50, p99) in latencies.items():
                print(f"[{kind}] {name:<18} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
        finally:
            await index.close()
            await store.close()


async def gql(
    http: httpx.AsyncClient,
    url: str,
    query: str,
    variables: dict[str, object],
    token: str | None = None,
) -> dict[str, object]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = (
        await http.post(
            f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    ).json()
    if answer.get("errors"):
        raise RuntimeError(answer["errors"])
    return answer["data"]


async def user_and_channel(http: httpx.AsyncClient, url: str) -> tuple[str, str, str]:
    """A new user's token, and the guild and text channel it creates."""
    handle = f"bench{time.time_ns() % 10**9}"
    email = f"{handle}@example.com"
    register = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }"
    await gql(
        http,
        url,
        register,
        {
            "i": {
                "email": email,
                "handle": handle,
                "displayName": "B",
                "password": "benchmark-password",
            }
        },
    )
    login = "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }"
    data = await gql(http, url, login, {"i": {"email": email, "password": "benchmark-password"}})
    token = str(data["login"]["session"]["accessToken"])  # type: ignore[index]
    create = (
        'mutation { createGuild(input: {name: "Bench"}) { guild { id channels { id type } } } }'
    )
    guild = (await gql(http, url, create, {}, token))["createGuild"]["guild"]  # type: ignore[index]
    channel = next(c["id"] for c in guild["channels"] if c["type"] == "TEXT")
    return token, guild["id"], channel


async def lag(seconds: float, rate: float, senders: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "GOCHAT_DATA_DIR": tmp,
            "GOCHAT_LOG_LEVEL": os.environ.get("BENCH_SERVER_LOG_LEVEL", "warning"),
            "GOCHAT_RATE_COST_PER_USER": "100000000/60",
            "GOCHAT_RATE_REGISTER_PER_IP": "1000/60",
        }
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gochat", "serve", "--port", str(port), env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                for _ in range(300):
                    try:
                        if (await http.get(f"{url}/ready")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
                token, _, channel = await user_and_channel(http, url)
                acked: dict[str, float] = {}
                seen: dict[str, float] = {}
                acks = Path(tmp) / "acks"
                acks.touch()
                # The Go client, paced: a Python sender spends about a millisecond of CPU per
                # send, and on two shared cores it, not the server, capped the rate.
                sendload = await asyncio.create_subprocess_exec(
                    str(build_sendload(Path(tmp))),
                    f"-url={url}/graphql",
                    f"-token={token}",
                    f"-channel={channel}",
                    f"-concurrency={senders}",
                    f"-seconds={seconds}s",
                    f"-rate={rate}",
                    "-content=lagprobe",
                    f"-acks={acks}",
                    stdout=asyncio.subprocess.PIPE,
                )

                def read_acks(offset: int) -> int:
                    with acks.open("rb") as f:
                        f.seek(offset)
                        chunk = f.read()
                    complete = chunk[: chunk.rfind(b"\n") + 1]
                    for line in complete.decode().splitlines():
                        message_id, ns = line.split()
                        acked[message_id] = int(ns) / 1e9
                    return offset + len(complete)

                async def poller() -> None:
                    # The index itself, read beside the server: a message is searchable from
                    # the moment its document is there (GraphQL pages would hide a backlog).
                    offset = 0
                    while sendload.returncode is None or (
                        time.time() < sent_all_at[0] + 30 and not set(acked) <= set(seen)
                    ):
                        offset = read_acks(offset)
                        # Batches commit out of id order: look from the oldest unseen send.
                        unseen = [int(m) for m in acked if m not in seen]
                        low = min(unseen, default=0) - 1
                        db = sqlite3.connect(f"file:{tmp}/gochat.db?mode=ro", uri=True)
                        try:
                            rows = db.execute(
                                "SELECT message_id FROM search_documents WHERE message_id > ?",
                                (low,),
                            ).fetchall()
                        finally:
                            db.close()
                        now = time.time()
                        for (message_id,) in rows:
                            seen.setdefault(str(message_id), now)
                        await asyncio.sleep(0.005)
                    read_acks(offset)

                sent_all_at = [0.0]

                async def senders() -> dict[str, float]:
                    out, _ = await sendload.communicate()
                    sent_all_at[0] = time.time()
                    return json.loads(out)  # type: ignore[no-any-return]

                result, _ = await asyncio.gather(senders(), poller())
                achieved = float(result["rate"])
                if result["failed"]:
                    print(f"[lag] {result['failed']} sends failed: {result['codes']}")
                lags = [(seen[m] - t) * 1000 for m, t in acked.items() if m in seen]
                db = sqlite3.connect(f"file:{tmp}/gochat.db?mode=ro", uri=True)
                try:
                    waiting = db.execute("SELECT count(*) FROM worker_jobs").fetchone()[0]
                    parked = db.execute("SELECT count(*) FROM parked_jobs").fetchone()[0]
                    stored = db.execute(
                        "SELECT count(*) FROM messages WHERE content LIKE 'lagprobe%'"
                    ).fetchone()[0]
                    indexed = db.execute("SELECT count(*) FROM search_documents").fetchone()[0]
                finally:
                    db.close()
                print(
                    f"[lag] at the end: {stored} messages stored, {indexed} indexed, "
                    f"{waiting} jobs waiting, {parked} parked"
                )
                missing = len(acked) - len(lags)
                print(
                    f"[lag] {len(acked)} sent at {achieved:.0f}/s: p50 {statistics.median(lags):.0f} ms, "
                    f"p99 {percentile(lags, 0.99):.0f} ms, never seen {missing}"
                )
        finally:
            server.terminate()
            await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--visible", type=int, default=150)
    parser.add_argument("--engines", default="sqlite,opensearch")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--lag-seconds", type=float, default=15.0)
    parser.add_argument("--lag-rate", type=float, default=200.0, help="sends/s for the lag")
    parser.add_argument(
        "--lag-senders",
        type=int,
        default=48,
        help="connections sending, paced together: enough that slow answers keep the rate",
    )
    args = parser.parse_args()
    for kind in filter(None, args.engines.split(",")):
        asyncio.run(bench_engine(kind, args))
    if args.lag_seconds > 0:
        asyncio.run(lag(args.lag_seconds, args.lag_rate, args.lag_senders))


if __name__ == "__main__":
    main()
