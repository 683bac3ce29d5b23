"""One contract for every OutboxStore adapter, as the outbox relay uses it: the SQL outbox on
SQLite and PostgreSQL, and the Cassandra outbox of the CQL message store on a real Apache
Cassandra node (in a keyspace of this module's own, so no other test's events show up)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from cassandra.query import BatchStatement, BatchType

from gochat.bus import Envelope, subjects
from gochat.bus.nats import STREAM, NatsEventBus
from gochat.config import async_database_url
from gochat.domain.outbox_relay import OutboxRelay
from gochat.ids import GOCHAT_EPOCH_MS, SnowflakeGenerator
from gochat.storage import OutboxStore
from gochat.storage.cql import CqlSession, parse_url
from gochat.storage.cql import migrate as cql_migrate
from gochat.storage.cql.outbox import CqlOutboxStore
from gochat.storage.sql import SqlRelationalStore
from gochat.storage.sql.outbox import append_tx
from tests.support.engines import NatsServer

pytestmark = pytest.mark.timeout(120)

ADAPTERS = ["sqlite", "postgresql", "cassandra"]
ids = SnowflakeGenerator(78)
# How often the Cassandra outbox rereads below its watermark for batches that landed late.
REACH_BACK_SECONDS = 1.0


def _run(coroutine: Any) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def outbox_keyspace_url(cassandra_url: str) -> Iterator[str]:
    """A migrated keyspace for this module alone."""
    base, _, _ = cassandra_url.rpartition("/")
    url = f"{base}/gochat_outbox_{uuid.uuid4().hex[:10]}"

    async def migrate() -> None:
        session = CqlSession(parse_url(url))
        await session.connect()
        try:
            await cql_migrate.upgrade(session)
        finally:
            await session.close()

    _run(migrate())
    yield url


@dataclass
class Outbox:
    """An adapter under test, how the change it belongs to writes its rows, and a second
    instance of it on the same data (another process)."""

    store: OutboxStore
    write: Callable[[Sequence[Envelope]], Awaitable[None]]
    other: Callable[[], OutboxStore]


@pytest.fixture(params=ADAPTERS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "cassandra":
        return str(request.getfixturevalue("outbox_keyspace_url"))
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    path = tmp_path / "store.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
async def outbox(store_url: str) -> AsyncIterator[Outbox]:
    if store_url.startswith("cql://"):
        session = CqlSession(parse_url(store_url))
        await session.connect()
        store = CqlOutboxStore(session, reach_back_every_seconds=REACH_BACK_SECONDS)

        async def write_batch(envelopes: Sequence[Envelope]) -> None:
            batch = BatchStatement(batch_type=BatchType.LOGGED)
            await store.append(batch, envelopes)
            await session.execute(batch)

        try:
            yield Outbox(
                store,
                write_batch,
                lambda: CqlOutboxStore(session, reach_back_every_seconds=REACH_BACK_SECONDS),
            )
        finally:
            await session.close()
        return
    sql = SqlRelationalStore.from_url(async_database_url(store_url))

    async def write_tx(envelopes: Sequence[Envelope]) -> None:
        async with sql.engines.write.begin() as conn:
            await append_tx(conn, envelopes)

    try:
        yield Outbox(sql.outbox, write_tx, lambda: sql.outbox)
    finally:
        await sql.close()


def made_now(count: int) -> list[Envelope]:
    """Envelopes of `count` events just made, each for two subjects."""
    out = []
    for _ in range(count):
        event_id = ids.next_id()
        payload = f"event {event_id}".encode()
        out += [Envelope(f"gochat.test.{event_id}.a", event_id, payload)]
        out += [Envelope(f"gochat.test.{event_id}.b", event_id, payload)]
    return out


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


async def drain(store: OutboxStore, *, limit: int) -> list[Envelope]:
    """What a relay sends: pages of pending rows, each confirmed before the next."""
    sent: list[Envelope] = []
    while page := await store.pending(older_than=soon(), limit=limit):
        assert len(page) <= limit
        sent += page
        await store.mark_published(page)
    return sent


async def test_pending_holds_what_was_written_before_the_cutoff_and_not_after(
    outbox: Outbox,
) -> None:
    before = made_now(2)
    await outbox.write(before)
    cutoff = datetime.now(UTC)
    while datetime.now(UTC) <= cutoff + timedelta(milliseconds=2):
        await asyncio.sleep(0.001)
    after = made_now(1)
    await outbox.write(after)

    pending = await outbox.store.pending(older_than=cutoff, limit=100)
    assert set(pending) == set(before)
    assert set(await drain(outbox.store, limit=100)) == set(before + after)


async def test_relayed_in_pages_every_row_comes_once_oldest_event_first(outbox: Outbox) -> None:
    written = made_now(5)
    for one in (written[i : i + 2] for i in range(0, len(written), 2)):
        await outbox.write(one)

    sent = await drain(outbox.store, limit=3)
    assert sorted(sent, key=lambda e: (e.event_id, e.subject)) == written
    assert [e.event_id for e in sent] == sorted(e.event_id for e in sent)
    assert await outbox.store.pending(older_than=soon(), limit=100) == []


async def test_confirmed_rows_are_not_pending_for_any_process(outbox: Outbox) -> None:
    confirmed, left = made_now(2), made_now(1)
    await outbox.write(confirmed + left)
    await outbox.store.mark_published(confirmed)

    assert await outbox.other().pending(older_than=soon(), limit=100) == left
    await outbox.other().mark_published(left)
    assert await outbox.store.pending(older_than=soon(), limit=100) == []


async def test_a_relay_started_later_finds_rows_an_earlier_one_had_passed(
    outbox: Outbox,
) -> None:
    assert await drain(outbox.store, limit=100) == []
    written = made_now(1)
    await outbox.write(written)

    assert await outbox.other().pending(older_than=soon(), limit=100) == written
    await outbox.other().mark_published(written)


async def test_a_batch_landing_late_is_still_found_by_a_later_pass(
    request: pytest.FixtureRequest, outbox: Outbox
) -> None:
    """Cassandra: a logged batch may become visible well after its events were made (its
    timeout, then the batchlog's replay), below where the relay's passes already got to; a pass
    that reaches back below the watermark finds it."""
    if "cassandra" not in request.node.callspec.id:
        pytest.skip("rows of the SQL outbox carry their commit time")
    assert await drain(outbox.store, limit=100) == []
    ms = int((datetime.now(UTC) - timedelta(seconds=45)).timestamp() * 1000) - GOCHAT_EPOCH_MS
    event_id = (ms << 22) | (78 << 12) | secrets.randbits(12)
    late = [Envelope("gochat.test.late", event_id, b"late")]
    await outbox.write(late)

    async with asyncio.timeout(REACH_BACK_SECONDS * 10):
        while not (found := await outbox.store.pending(older_than=soon(), limit=100)):
            await asyncio.sleep(0.05)
    assert found == late
    await outbox.store.mark_published(late)


async def test_relays_of_two_processes_at_once_store_each_event_once_in_the_stream(
    outbox: Outbox, nats_engine: NatsServer
) -> None:
    channel = subjects.channel(secrets.randbits(62))
    written = [Envelope(channel, ids.next_id(), b"relayed") for _ in range(40)]
    await outbox.write(written)
    buses = [await NatsEventBus.connect(nats_engine.url) for _ in range(2)]
    try:
        relays = [
            OutboxRelay(store, bus, grace_seconds=0, batch_size=7)
            for store, bus in zip([outbox.store, outbox.other()], buses, strict=True)
        ]
        await asyncio.gather(*(relay.relay_once() for relay in relays))
    finally:
        for bus in buses:
            await bus.close()

    nc = await nats.connect(nats_engine.url)
    try:
        info = await nc.jetstream().stream_info(STREAM, subjects_filter=channel)
    finally:
        await nc.close()
    assert (info.state.subjects or {}).get(channel) == len(written)
    assert await outbox.store.pending(older_than=soon(), limit=100) == []
