"""The worker runner on its two durable sources, the relational store's job table and a
JetStream consumer: a batch is settled only once handled, Unavailable is retried without
counting against the event, an event that keeps failing is parked while the rest of its batch
goes through, and events of other types or repeated on another subject are not handed over."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gochat.bus import Envelope
from gochat.bus.codec import seal
from gochat.bus.nats import NatsEventBus
from gochat.domain.events import Event, GuildDeleted
from gochat.errors import Unavailable
from gochat.storage.jobs import JobStore, ParkedJob
from gochat.storage.sql import SqlRelationalStore
from gochat.wiring import build_store
from gochat.workers.runner import Delivery, EventWorker, JobSource
from gochat.workers.sources import JetStreamSource, JobFeed, JobTableSource
from tests.conftest import make_settings
from tests.support.engines import NatsServer

pytestmark = pytest.mark.timeout(120)


class FlakyHandler:
    """Handles GuildDeleted; fails for good on `poison` ids and with Unavailable `outages`
    times on the first call."""

    event_types = frozenset({GuildDeleted.TYPE})
    batch_size = 10

    def __init__(self, *, poison: frozenset[int] = frozenset(), outages: int = 0) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        self.poison = poison
        self.outages = outages
        self.handled: list[int] = []
        self.calls = 0

    async def handle(self, events: Sequence[Event]) -> None:
        self.calls += 1
        if self.outages:
            self.outages -= 1
            raise Unavailable("engine down")
        if any(e.event_id in self.poison for e in events):
            raise RuntimeError("cannot handle this one")
        self.handled += [e.event_id for e in events]


def guild_deleted(event_id: int, *subjects: str) -> list[Envelope]:
    return seal(GuildDeleted(event_id=event_id, guild_id=event_id), *subjects)


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[SqlRelationalStore]:
    store = build_store(make_settings(database_url, tmp_path / "data"))
    try:
        yield store
    finally:
        await store.close()


async def eventually(check: Callable[[], bool], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def table_worker(
    store: SqlRelationalStore, handler: FlakyHandler
) -> tuple[EventWorker, JobFeed]:
    feed = JobFeed(store.jobs)
    feed.route(handler.name, handler.event_types)
    source: JobSource = JobTableSource(store.jobs, feed.waker(), poll_seconds=0.05)
    return EventWorker(handler, source, store.jobs, max_attempts=2), feed


async def parked_ids(jobs: JobStore, worker: str) -> set[int]:
    return {p.envelope.event_id for p in await jobs.parked(worker=worker, limit=100)}


async def test_job_table_parks_the_poison_event_and_handles_the_rest(
    store: SqlRelationalStore,
) -> None:
    handler = FlakyHandler(poison=frozenset({2}))
    worker, feed = await table_worker(store, handler)
    envelopes = [e for i in (1, 2, 3) for e in guild_deleted(i, "gochat.guild.1")]
    await feed.record(envelopes)
    worker.start()
    try:
        await eventually(lambda: sorted(handler.handled) == [1, 3])
        async with asyncio.timeout(60):
            while await parked_ids(store.jobs, handler.name) != {2}:
                await asyncio.sleep(0.05)
        [parked] = await store.jobs.parked(worker=handler.name, limit=10)
        assert parked.attempts == 2
        assert "RuntimeError: cannot handle this one" in parked.error
        assert await store.jobs.pending(handler.name) == 0
    finally:
        await worker.stop()


async def test_job_table_retries_while_unavailable_without_parking(
    store: SqlRelationalStore,
) -> None:
    handler = FlakyHandler(outages=1)
    worker, feed = await table_worker(store, handler)
    # The same event on two subjects, and again from a relay's resend: one job, one call.
    await feed.record(guild_deleted(7, "gochat.guild.7", "gochat.user.1"))
    await feed.record(guild_deleted(7, "gochat.guild.7"))
    worker.start()
    try:
        await eventually(lambda: handler.handled == [7])
        assert handler.calls == 2
        assert await parked_ids(store.jobs, handler.name) == set()
        assert await store.jobs.pending(handler.name) == 0
    finally:
        await worker.stop()


async def test_events_of_other_types_are_not_queued(store: SqlRelationalStore) -> None:
    handler = FlakyHandler()
    _, feed = await table_worker(store, handler)
    other = Envelope(subject="gochat.guild.1", event_id=9, payload=b'{"type":"Other","v":1}')
    await feed.record([other])
    assert await store.jobs.pending(handler.name) == 0


async def test_events_a_worker_does_not_want_are_not_queued_for_it(
    store: SqlRelationalStore,
) -> None:
    picky, keen = FlakyHandler(), FlakyHandler()
    feed = JobFeed(store.jobs)
    feed.route(picky.name, picky.event_types, lambda e: e.event_id % 2 == 0)
    feed.route(keen.name, keen.event_types)
    undecodable = Envelope(
        subject="gochat.guild.1", event_id=7, payload=b'{"type":"GuildDeleted","v":1,"data":1}'
    )
    await feed.record([*guild_deleted(1, "gochat.guild.1"), *guild_deleted(2, "gochat.guild.2")])
    await feed.record([undecodable])
    assert await store.jobs.pending(picky.name) == 2  # event 2, and 7 to be parked by the worker
    assert await store.jobs.pending(keen.name) == 3
    claimed = await store.jobs.claim(picky.name, limit=10, now=datetime.now(UTC), lease_seconds=60)
    assert [j.envelope.event_id for j in claimed] == [2, 7]
    assert [j.attempts for j in claimed] == [1, 1]
    assert (
        await store.jobs.claim(picky.name, limit=10, now=datetime.now(UTC), lease_seconds=60) == []
    )
    await store.jobs.complete(picky.name, [2, 7])
    assert await store.jobs.pending(picky.name) == 0


async def test_jetstream_parks_the_poison_event_and_handles_the_rest(
    nats_engine: NatsServer, store: SqlRelationalStore
) -> None:
    bus = await NatsEventBus.connect(nats_engine.url)
    base = uuid.uuid4().int % 10**15 * 10
    ok, bad, twice = base + 1, base + 2, base + 3
    handler = FlakyHandler(poison=frozenset({bad}))
    worker = EventWorker(
        handler, JetStreamSource(bus, fetch_timeout=0.5), store.jobs, max_attempts=2
    )
    try:
        await bus.publish(
            [e for i in (ok, bad, twice) for e in guild_deleted(i, f"gochat.guild.{base}")]
            # Another subject carries it again: handled at least once (a handler is idempotent).
            + guild_deleted(twice, f"gochat.user.{base}")
        )
        worker.start()
        await eventually(lambda: {ok, twice} <= set(handler.handled))
        async with asyncio.timeout(60):
            while await parked_ids(store.jobs, handler.name) != {bad}:
                await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await bus.close()


def gochat(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochat", "tools", "jobs", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}, **env},
    )


async def test_parked_events_are_listed_and_replayed_by_the_operator(
    database_url: str, store: SqlRelationalStore, tmp_path: Path
) -> None:
    [envelope] = guild_deleted(424242, "gochat.guild.424242")
    await store.jobs.park(
        ParkedJob(
            worker="media",
            envelope=envelope,
            error="OSError: disk full",
            attempts=5,
            parked_at=datetime.now(UTC),
        )
    )
    env = {"GOCHAT_DATABASE_URL": database_url, "GOCHAT_DATA_DIR": str(tmp_path / "data")}
    listed = await asyncio.to_thread(gochat, env, "parked")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.startswith("media\t424242\tGuildDeleted\t5\t")
    assert line.endswith("OSError: disk full")
    replayed = await asyncio.to_thread(gochat, env, "replay", "media")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1, still failing 0" in replayed.stdout
    assert (await asyncio.to_thread(gochat, env, "parked")).stdout == ""


class CancelLosingSource:
    """A source behind a driver that loses the first cancellation while it waits, as nats-py's
    fetch does on Python 3.11 (asyncio.wait_for reports a timeout or a result instead when the
    cancel lands in the same loop iteration): the wait ends and the source waits again."""

    def __init__(self) -> None:
        self.lost = 0
        self.waiting = asyncio.Event()

    async def batches(self, worker: str, size: int) -> AsyncIterator[Sequence[Delivery]]:
        self.waiting.set()
        while True:
            try:
                await asyncio.Event().wait()  # no events ever come
            except asyncio.CancelledError:
                if self.lost:
                    raise
                self.lost += 1
        yield []  # an async generator; never reached

    async def ack(self, worker: str, deliveries: Sequence[Delivery]) -> None:
        raise AssertionError("nothing was delivered")

    async def retry(self, worker: str, deliveries: Sequence[Delivery], *, delay: float) -> None:
        raise AssertionError("nothing was delivered")


async def test_a_worker_stops_even_when_its_driver_loses_a_cancellation(
    store: SqlRelationalStore,
) -> None:
    source = CancelLosingSource()
    worker = EventWorker(FlakyHandler(), source, store.jobs)
    worker.start()
    async with asyncio.timeout(30):
        await source.waiting.wait()
    # Not under asyncio.timeout: the old stop() swallowed its caller's cancellation too.
    stopping = asyncio.create_task(worker.stop())
    await asyncio.wait({stopping}, timeout=30)
    assert stopping.done(), "the worker did not stop"
    assert source.lost == 1
