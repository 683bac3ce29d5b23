"""The outbox relay against a real SQL outbox (SQLite and PostgreSQL) and a real NATS server."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import nats
import pytest

from gochat.bus import Envelope, subjects
from gochat.bus.nats import STREAM, NatsEventBus
from gochat.config import async_database_url
from gochat.domain.outbox_relay import OutboxRelay
from gochat.errors import Unavailable
from gochat.storage.sql import SqlRelationalStore
from gochat.storage.sql.outbox import append_tx
from tests.support.engines import NatsServer, nats_server

pytestmark = pytest.mark.timeout(120)


def sealed(count: int) -> list[Envelope]:
    """`count` events, each sealed for a channel and a guild subject, as domain code does."""
    channel, guild = subjects.channel(secrets.randbits(62)), subjects.guild(secrets.randbits(62))
    envelopes = []
    for _ in range(count):
        event_id = secrets.randbits(62)
        payload = f"event {event_id}".encode()
        envelopes += [Envelope(channel, event_id, payload), Envelope(guild, event_id, payload)]
    return envelopes


def far_future() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlRelationalStore]:
    sql = SqlRelationalStore.from_url(async_database_url(database_url))
    try:
        yield sql
    finally:
        await sql.close()


async def write_outbox(store: SqlRelationalStore, envelopes: list[Envelope]) -> None:
    async with store.engines.write.begin() as conn:
        await append_tx(conn, envelopes)


async def stored(url: str, envelopes: list[Envelope]) -> dict[str, int]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        counts: dict[str, int] = {}
        for subject in {e.subject for e in envelopes}:
            info = await js.stream_info(STREAM, subjects_filter=subject)
            counts.update(info.state.subjects or {})
        return counts
    finally:
        await nc.close()


async def test_a_relay_pass_publishes_old_rows_once_and_forgets_them(
    store: SqlRelationalStore, nats_engine: NatsServer
) -> None:
    bus = await NatsEventBus.connect(nats_engine.url)
    envelopes = sealed(3)
    live = await bus.subscribe(envelopes[0].subject)
    try:
        await write_outbox(store, envelopes)
        relay = OutboxRelay(store.outbox, bus, grace_seconds=0)
        assert await relay.relay_once() == 6
        assert await relay.relay_once() == 0

        # A crash between publish and delete leaves the rows: relaying them again adds nothing.
        await write_outbox(store, envelopes)
        assert await relay.relay_once() == 6

        expected = {e.subject: 3 for e in envelopes}
        assert await stored(nats_engine.url, envelopes) == expected
        assert await store.outbox.pending(older_than=far_future(), limit=100) == []
        # Live subscribers get every relayed copy; they drop duplicates by event id.
        received = []
        async with asyncio.timeout(5):
            async for item in live:
                received.append(item)
                if len(received) == 6:
                    break
        assert {e.event_id for e in received} == {e.event_id for e in envelopes}
    finally:
        await live.close()
        await bus.close()


async def test_rows_younger_than_the_grace_period_are_left_to_the_publisher(
    store: SqlRelationalStore, nats_engine: NatsServer
) -> None:
    bus = await NatsEventBus.connect(nats_engine.url)
    try:
        envelopes = sealed(1)
        await write_outbox(store, envelopes)
        assert await OutboxRelay(store.outbox, bus, grace_seconds=60).relay_once() == 0
        assert await stored(nats_engine.url, envelopes) == {}
        assert await OutboxRelay(store.outbox, bus, grace_seconds=0).relay_once() == 2
    finally:
        await bus.close()


@pytest.fixture
def own_nats_server() -> Iterator[NatsServer]:
    with nats_server() as server:
        yield server


async def test_rows_survive_a_nats_outage_and_go_out_once_it_is_back(
    store: SqlRelationalStore, own_nats_server: NatsServer
) -> None:
    bus = await NatsEventBus.connect(own_nats_server.url, publish_timeout_seconds=1)
    relay = OutboxRelay(store.outbox, bus, grace_seconds=0)
    envelopes = sealed(2)
    try:
        await write_outbox(store, envelopes)
        await asyncio.to_thread(own_nats_server.stop)
        with pytest.raises(Unavailable):
            await relay.relay_once()
        assert len(await store.outbox.pending(older_than=far_future(), limit=100)) == 4

        await asyncio.to_thread(own_nats_server.start)
        async with asyncio.timeout(60):
            await bus.wait_reconnected()
            while True:
                try:
                    assert await relay.relay_once() == 4
                    break
                except Unavailable:
                    await asyncio.sleep(0.2)
        assert await stored(own_nats_server.url, envelopes) == {e.subject: 2 for e in envelopes}
    finally:
        await bus.close()


async def test_the_background_loop_relays_until_stopped(
    store: SqlRelationalStore, nats_engine: NatsServer
) -> None:
    bus = await NatsEventBus.connect(nats_engine.url)
    relay = OutboxRelay(store.outbox, bus, grace_seconds=0, interval_seconds=0.05)
    task = asyncio.create_task(relay.run())
    try:
        envelopes = sealed(2)
        await write_outbox(store, envelopes)
        async with asyncio.timeout(30):
            while await stored(nats_engine.url, envelopes) != {e.subject: 2 for e in envelopes}:
                await asyncio.sleep(0.05)
    finally:
        relay.stop()
        await asyncio.wait_for(task, 15)
        await bus.close()
