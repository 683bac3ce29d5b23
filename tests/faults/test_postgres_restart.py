"""PostgreSQL restarted under steady sends: every answer is the message or UNAVAILABLE (never
INTERNAL), a WebSocket opened meanwhile is closed with a retry code, /ready says the database is
down, and once clients retry with their nonces every acknowledged message is stored once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from gochat.config import async_database_url
from gochat.storage.sql import migrate as sql_migrate
from gochat.storage.sql.engine import create_engines
from tests.conftest import make_settings
from tests.support.client import GraphQLClient, ws_connect
from tests.support.engines import PostgresCluster, postgres_cluster
from tests.support.faults import (
    HISTORY,
    RETRY_CLOSE_CODES,
    SendTally,
    assert_delivered_exactly_once,
    assert_stored_exactly_once,
    send,
    stored_contents,
)
from tests.support.guilds import make_world
from tests.support.server import RunningServer, run_server

pytestmark = pytest.mark.timeout(120)

CHANNEL_EVENTS = """subscription($c: ID!) { channelEvents(channelId: $c) {
  __typename ... on MessageCreated { message { content } } } }"""
# Answers each sender must get while the database is down before it comes back.
ANSWERS_DURING_OUTAGE = 3
PATIENCE_SECONDS = 30


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster this test alone uses, so it may stop and start it."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
async def server_on_own_postgres(
    own_postgres: PostgresCluster, tmp_path: Path
) -> AsyncIterator[RunningServer]:
    engines = create_engines(async_database_url(own_postgres.url))
    try:
        await sql_migrate.upgrade(engines.write)
    finally:
        await engines.dispose()
    # No session cache: every request and connection_init reads its session from the database.
    settings = make_settings(
        own_postgres.url, tmp_path / "data", session_cache_seconds=0, database_pool_size=4
    )
    async with run_server(settings) as running:
        yield running


class Senders:
    """Clients sending one message after another, each message with its own nonce."""

    def __init__(self, clients: list[GraphQLClient], channel_id: str) -> None:
        self.clients = clients
        self.channel_id = channel_id
        self.tally = SendTally()
        self.answers = [0] * len(clients)
        self.acks = [0] * len(clients)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(i)) for i in range(len(self.clients))]

    async def _run(self, index: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            acked = await send(self.clients[index], self.channel_id, f"s{index}-{n}", self.tally)
            self.answers[index] += 1
            self.acks[index] += acked

    async def until(self, condition: Any, what: str) -> None:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not condition():
            assert time.monotonic() < deadline, f"{what} never happened: {self.tally.summary()}"
            for task in self._tasks:
                if task.done():
                    task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


async def connection_init_outcome(
    ws_url: str, token: str, protocol: str = "graphql-transport-ws"
) -> tuple[list[dict[str, Any]], int | None]:
    """What the server sent after connection_init, and the code it closed with (None while
    the socket stays open after an ack)."""
    async with websockets.connect(ws_url, subprotocols=[protocol]) as socket:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}"}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        received: list[dict[str, Any]] = []
        try:
            while True:
                received.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
                if received[-1].get("type") == "connection_ack":
                    return received, None
        except websockets.ConnectionClosed as closed:
            return received, closed.rcvd.code if closed.rcvd is not None else 1006


async def test_a_postgres_restart_answers_unavailable_and_loses_no_acknowledged_message(
    server_on_own_postgres: RunningServer, own_postgres: PostgresCluster
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server_on_own_postgres.url, http)
        world = await make_world(client)
        senders = Senders([world.owner.client, world.member.client], world.text_id)
        async with ws_connect(
            client.ws_url, payload={"authorization": f"Bearer {world.member.token}"}
        ) as live:
            op = await live.subscribe(CHANNEL_EVENTS, {"c": world.text_id})
            senders.start()
            await senders.until(lambda: min(senders.acks) >= 3, "sends before the outage")

            await asyncio.to_thread(own_postgres.stop)
            during = list(senders.answers)
            await senders.until(
                lambda: all(
                    a - b >= ANSWERS_DURING_OUTAGE
                    for a, b in zip(senders.answers, during, strict=True)
                ),
                "answers during the outage",
            )
            history = await world.member.client.execute(HISTORY, {"c": world.text_id})
            history.error("UNAVAILABLE")
            ready = await http.get(f"{server_on_own_postgres.url}/ready")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["sql"]["ok"] is False, ready.text
            received, code = await connection_init_outcome(client.ws_url, world.owner.token)
            assert (received, code) == ([], 1013)
            received, code = await connection_init_outcome(
                client.ws_url, world.owner.token, protocol="graphql-ws"
            )
            assert [m["payload"]["code"] for m in received] == ["UNAVAILABLE"], received
            assert code == 1013

            await asyncio.to_thread(own_postgres.start)
            after = list(senders.acks)
            await senders.until(
                lambda: all(a > b for a, b in zip(senders.acks, after, strict=True)),
                "sends after the restart",
            )
            await senders.stop()
            tally = senders.tally
            tally.assert_only_success_or_retryable()
            assert tally.retryable, f"the outage was never seen: {tally.summary()}"

            # Clients retry what was not acknowledged, with the same nonce.
            for content in tally.retryable + tally.lost_connection:
                author = world.owner if content.startswith("s0-") else world.member
                assert await send(author.client, world.text_id, content, tally), tally.summary()
            tally.assert_only_success_or_retryable()
            stored = await stored_contents(world.member.client, world.text_id)
            assert_stored_exactly_once(tally, stored)

            # The live socket stayed open (or was closed with a retry code) and still delivers.
            delivered: list[str] = []
            try:
                while len(set(delivered) & set(tally.acknowledged)) < len(tally.acknowledged):
                    message = await live.receive(op, timeout=PATIENCE_SECONDS)
                    assert message["type"] == "next", message
                    event = message["payload"]["data"]["channelEvents"]
                    if event["__typename"] == "MessageCreated":
                        delivered.append(event["message"]["content"])
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code in RETRY_CLOSE_CODES, closed
            else:
                assert_delivered_exactly_once(tally, delivered)
