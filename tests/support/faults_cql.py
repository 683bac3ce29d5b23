"""Helpers of the Cassandra fault tests: a `gochat serve` process on its own keyspace, clients
that send with a nonce and retry it until they get an answer, and a tally of what was
acknowledged, stored and delivered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.cluster import Cluster, GochatProcess, running_cluster
from tests.support.engines import CassandraNode
from tests.support.factories import SignedUpUser

# A fresh keyspace is migrated at startup, and a node just back replays its commit log: both
# take a while on a slow machine.
SERVE_START_SECONDS = 120.0

SEND = """mutation($c: ID!, $t: String!, $n: String) {
  sendMessage(input: {channelId: $c, content: $t, nonce: $n}) { created message { id content } }
}"""
DELETE = "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }"
HISTORY = """query($c: ID!, $after: String) { channel(id: $c) { ... on TextChannel {
  messages(first: 100, after: $after) {
    edges { node { id content } } pageInfo { hasNextPage endCursor }
  } } } }"""
CHANNEL_EVENTS = """subscription($c: ID!) { channelEvents(channelId: $c) {
  __typename ... on MessageCreated { message { id content } } } }"""


def keyspace_url(node: CassandraNode) -> str:
    return f"cql://127.0.0.1:{node.cql_port}/gochat_fault_{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def serving_on(
    node: CassandraNode, root: Path, **settings: str
) -> AsyncIterator[tuple[Cluster, GochatProcess]]:
    """One `gochat serve` on SQLite and the in-process bus, its messages on `node` in a keyspace
    of its own; not started."""
    async with running_cluster(
        root, database_url=f"sqlite:///{root}/gochat.db", bus_url="memory://", redis_url=None
    ) as cluster:
        root.mkdir(parents=True, exist_ok=True)
        yield cluster, cluster.add(messages_url=keyspace_url(node), **settings)


async def ready_status(http: httpx.AsyncClient, process: GochatProcess) -> int | None:
    try:
        return (await http.get(f"{process.url}/ready", timeout=5)).status_code
    except httpx.HTTPError:
        return None


async def wait_ready_status(
    http: httpx.AsyncClient, process: GochatProcess, status: int, *, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    seen: int | None = None
    while (seen := await ready_status(http, process)) != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"/ready stayed {seen}, not {status}, for {timeout} s")
        await asyncio.sleep(0.2)


async def stored_messages(client: GraphQLClient, channel_id: str) -> list[dict[str, str]]:
    """Every message of the channel's history, oldest first."""
    found: list[dict[str, str]] = []
    after: str | None = None
    while True:
        page = (await client.execute(HISTORY, {"c": channel_id, "after": after})).ok()
        messages = page["channel"]["messages"]
        found.extend(e["node"] for e in messages["edges"])
        if not messages["pageInfo"]["hasNextPage"]:
            return found
        after = messages["pageInfo"]["endCursor"]


@dataclass
class Tally:
    """What clients were told, per nonce, and what else they saw on the way."""

    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    wrong: list[Any] = field(default_factory=list)

    def answered(self, what: str) -> None:
        self.answers[what] += 1


async def send_until_acknowledged(
    user: SignedUpUser,
    channel_id: str,
    content: str,
    nonce: str,
    tally: Tally,
    *,
    timeout: float,
) -> None:
    """Send, and retry with the same nonce after UNAVAILABLE or no answer at all, as a client
    should; any other error is recorded in `tally.wrong` and ends the retries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = await user.client.execute(SEND, {"c": channel_id, "t": content, "n": nonce})
        except httpx.TransportError:
            tally.answered("no answer")
            await asyncio.sleep(0.2)
            continue
        if not result.errors:
            tally.answered("ok")
            tally.acknowledged[nonce] = result.data["sendMessage"]
            return
        tally.answered(",".join(result.codes))
        if result.codes != ["UNAVAILABLE"]:
            tally.wrong.append(result.body)
            return
        await asyncio.sleep(0.2)
    tally.wrong.append(f"{nonce} never acknowledged in {timeout} s")


async def sender(
    user: SignedUpUser, channel_id: str, label: str, count: int, tally: Tally, *, timeout: float
) -> None:
    for n in range(count):
        await send_until_acknowledged(
            user, channel_id, f"{label} {n}", f"{label}-{n}", tally, timeout=timeout
        )


@dataclass
class Deliveries:
    """MessageCreated events of one channel, as a subscriber receives them."""

    ws: WsSession
    op_id: str
    ids: Counter[str] = field(default_factory=Counter)

    async def collect(self) -> None:
        while True:
            try:
                message = await self.ws.receive(self.op_id, timeout=3600)
            except TimeoutError:
                continue
            assert message["type"] == "next", message
            event = message["payload"]["data"]["channelEvents"]
            if event["__typename"] == "MessageCreated":
                self.ids[event["message"]["id"]] += 1


@asynccontextmanager
async def delivered_on(
    process: GochatProcess, user: SignedUpUser, channel_id: str
) -> AsyncIterator[Deliveries]:
    """A live channelEvents subscription counting deliveries, primed with probe messages until
    it is known to be live."""
    async with ws_connect(process.ws_url, payload={"authorization": f"Bearer {user.token}"}) as ws:
        deliveries = Deliveries(ws, await ws.subscribe(CHANNEL_EVENTS, {"c": channel_id}))
        collecting = asyncio.create_task(deliveries.collect())
        try:
            deadline = time.monotonic() + 30
            while True:
                probe = (
                    await user.client.execute(SEND, {"c": channel_id, "t": "probe", "n": None})
                ).ok()["sendMessage"]["message"]["id"]
                probe_deadline = time.monotonic() + 1
                while probe not in deliveries.ids and time.monotonic() < probe_deadline:
                    await asyncio.sleep(0.05)
                if probe in deliveries.ids:
                    break
                assert time.monotonic() < deadline, "the subscription never became live"
            yield deliveries
        finally:
            collecting.cancel()
            await asyncio.gather(collecting, return_exceptions=True)
