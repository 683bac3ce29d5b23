"""EventBus adapters: the in-process bus and NATS (core subjects + the GOCHAT_EVENTS stream)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.aio.msg import Msg

from gochat.bus import Envelope, EventBus, SlowConsumer, Subscription, subjects
from gochat.bus.memory import MemoryEventBus
from gochat.bus.nats import STREAM, NatsEventBus
from gochat.errors import Unavailable
from tests.support.engines import NatsServer, nats_server

pytestmark = pytest.mark.timeout(60)


def fresh_id() -> int:
    return secrets.randbits(62)


def envelope(subject: str, event_id: int | None = None, payload: bytes | None = None) -> Envelope:
    event_id = fresh_id() if event_id is None else event_id
    return Envelope(subject=subject, event_id=event_id, payload=payload or f"e{event_id}".encode())


async def take(subscription: Subscription, count: int, timeout: float = 5.0) -> list[Envelope]:
    received: list[Envelope] = []
    async with asyncio.timeout(timeout):
        async for item in subscription:
            received.append(item)
            if len(received) == count:
                break
    return received


async def nothing_more(subscription: Subscription, wait: float = 0.3) -> None:
    """Assert no envelope arrives within `wait` seconds."""
    with pytest.raises(TimeoutError):
        await take(subscription, 1, timeout=wait)


@pytest.fixture(params=["memory", "nats"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    adapter: EventBus
    if request.param == "memory":
        adapter = MemoryEventBus()
    else:
        engine: NatsServer = request.getfixturevalue("nats_engine")
        adapter = await NatsEventBus.connect(engine.url)
    try:
        yield adapter
    finally:
        await adapter.close()


@pytest.fixture
async def nats_bus(nats_engine: NatsServer) -> AsyncIterator[NatsEventBus]:
    adapter = await NatsEventBus.connect(nats_engine.url)
    try:
        yield adapter
    finally:
        await adapter.close()


async def stored_counts(url: str, subject_filter: str) -> dict[str, int]:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(STREAM, subjects_filter=subject_filter)
        return dict(info.state.subjects or {})
    finally:
        await nc.close()


async def test_round_trip_keeps_payload_bytes_subject_and_event_id(bus: EventBus) -> None:
    subject = subjects.channel(fresh_id())
    subscription = await bus.subscribe(subject)
    sent = envelope(subject, payload=b'\x00\xff{"binary":"\xe2\x82\xac"}\r\n')
    await bus.publish([sent])
    assert await take(subscription, 1) == [sent]
    await subscription.close()


async def test_subscriber_receives_only_its_own_subject(bus: EventBus) -> None:
    mine, other = subjects.user(fresh_id()), subjects.user(fresh_id())
    subscription = await bus.subscribe(mine)
    wanted = envelope(mine)
    await bus.publish([envelope(other), wanted, envelope(other)])
    assert await take(subscription, 1) == [wanted]
    await nothing_more(subscription)
    await subscription.close()


async def test_every_subscriber_of_a_subject_gets_each_envelope(bus: EventBus) -> None:
    subject = subjects.guild(fresh_id())
    first, second = await bus.subscribe(subject), await bus.subscribe(subject)
    sent = envelope(subject)
    await bus.publish([sent])
    assert await take(first, 1) == [sent]
    assert await take(second, 1) == [sent]
    await first.close()
    await second.close()


async def test_envelopes_arrive_in_publish_order(bus: EventBus) -> None:
    subject = subjects.channel(fresh_id())
    subscription = await bus.subscribe(subject)
    sent = [envelope(subject) for _ in range(200)]
    for start in range(0, len(sent), 50):
        await bus.publish(sent[start : start + 50])
    assert await take(subscription, len(sent)) == sent
    await subscription.close()


async def test_overflowing_the_buffer_ends_the_subscription_with_slow_consumer(
    bus: EventBus,
) -> None:
    subject = subjects.channel(fresh_id())
    subscription = await bus.subscribe(subject, max_pending=3)
    sent = [envelope(subject) for _ in range(20)]
    await bus.publish(sent)
    await asyncio.sleep(0.2)  # let NATS hand every message to the client
    received: list[Envelope] = []
    with pytest.raises(SlowConsumer):
        async with asyncio.timeout(5):
            async for item in subscription:
                received.append(item)
    assert received == sent[:3]
    await subscription.close()


async def test_close_ends_iteration_and_stops_delivery(bus: EventBus) -> None:
    subject = subjects.channel(fresh_id())
    subscription = await bus.subscribe(subject)
    await subscription.close()
    await bus.publish([envelope(subject)])
    assert await take(subscription, 1) == []
    await subscription.close()  # closing twice is harmless


async def test_publishing_without_subscribers_succeeds(bus: EventBus) -> None:
    await bus.publish([envelope(subjects.user(fresh_id()))])
    await bus.publish([])


async def test_stream_stores_each_subject_copy_once_and_drops_a_republished_one(
    nats_bus: NatsEventBus, nats_engine: NatsServer
) -> None:
    channel, guild = fresh_id(), fresh_id()
    event_id = fresh_id()
    # One event sealed for two subjects, as domain code does, and a second event.
    batch = [
        envelope(subjects.channel(channel), event_id, b"one"),
        envelope(subjects.guild(guild), event_id, b"one"),
        envelope(subjects.channel(channel), payload=b"two"),
    ]
    await nats_bus.publish(batch)
    await nats_bus.publish(batch[:2])  # the outbox relay republishing the first event
    assert await stored_counts(nats_engine.url, subjects.channel(channel)) == {
        subjects.channel(channel): 2
    }
    assert await stored_counts(nats_engine.url, subjects.guild(guild)) == {subjects.guild(guild): 1}


async def test_durable_consumer_delivers_stored_envelopes_and_redelivers_unacked(
    nats_bus: NatsEventBus,
) -> None:
    subject = subjects.channel(fresh_id())
    first, second = envelope(subject), envelope(subject)
    await nats_bus.publish([first, second])
    consumer = nats_bus.durable_consumer(
        f"test-{fresh_id()}", subject, ack_wait_seconds=1.0, fetch_timeout_seconds=0.5
    )
    seen: list[tuple[int, int]] = []
    async with asyncio.timeout(15):
        async for item, ack in consumer:
            seen.append((item.event_id, ack.attempt))
            if item == second or ack.attempt > 1:
                await ack()  # the first one is left unacked once, so it comes back
            if len(seen) == 3:
                break
    await consumer.aclose()
    assert seen == [(first.event_id, 1), (second.event_id, 1), (first.event_id, 2)]


async def test_an_idle_durable_consumer_keeps_waiting_through_fetch_timeouts(
    nats_bus: NatsEventBus,
) -> None:
    # nats-py ends an empty fetch with its own TimeoutError or, when the server's "no
    # messages" answer comes just before the deadline, asyncio's: neither ends the consumer.
    subject = subjects.channel(fresh_id())
    batches = nats_bus.durable_batches(f"test-{fresh_id()}", [subject], fetch_timeout_seconds=0.05)
    first = asyncio.ensure_future(anext(batches))
    try:
        for _ in range(100):  # a few hundred empty fetches
            await asyncio.sleep(0.05)
            assert not first.done(), first.exception()
        sent = envelope(subject)
        await nats_bus.publish([sent])
        async with asyncio.timeout(10):
            fetched = await first
        assert [item for item, _ in fetched] == [sent]
    finally:
        first.cancel()
        await batches.aclose()


async def test_durable_consumer_resumes_after_the_last_ack(nats_bus: NatsEventBus) -> None:
    subject = subjects.channel(fresh_id())
    name = f"test-{fresh_id()}"
    sent = [envelope(subject) for _ in range(3)]
    await nats_bus.publish(sent)
    consumer = nats_bus.durable_consumer(name, subject, fetch_timeout_seconds=0.5)
    async with asyncio.timeout(10):
        async for item, ack in consumer:
            await ack()
            if item == sent[0]:
                break
    await consumer.aclose()
    consumer = nats_bus.durable_consumer(name, subject, fetch_timeout_seconds=0.5)
    received: list[Envelope] = []
    async with asyncio.timeout(10):
        async for item, ack in consumer:
            await ack()
            received.append(item)
            if len(received) == 2:
                break
    await consumer.aclose()
    assert received == sent[1:]


@pytest.fixture
def own_nats_server() -> Iterator[NatsServer]:
    """A server only this test uses, because the test restarts it."""
    with nats_server() as server:
        yield server


async def publish_until_confirmed(bus: NatsEventBus, item: Envelope) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                await bus.publish([item])
                return
            except Unavailable:
                await asyncio.sleep(0.1)


async def test_subscription_resumes_after_the_server_restarts_on_the_same_port(
    own_nats_server: NatsServer,
) -> None:
    bus = await NatsEventBus.connect(own_nats_server.url)
    reconnects: list[bool] = []

    async def note_reconnect() -> None:
        reconnects.append(bus.connected)

    bus.on_reconnect(note_reconnect)
    subject = subjects.user(fresh_id())
    subscription = await bus.subscribe(subject)
    before, after = envelope(subject), envelope(subject)
    try:
        await bus.publish([before])
        assert await take(subscription, 1) == [before]

        await asyncio.to_thread(own_nats_server.restart)
        async with asyncio.timeout(15):
            while not reconnects:
                await asyncio.sleep(0.05)
        await bus.wait_reconnected()
        await publish_until_confirmed(bus, after)

        assert await take(subscription, 1, timeout=10) == [after]
        assert reconnects == [True]
        # The stream survived the restart (file storage in the same directory).
        assert await stored_counts(own_nats_server.url, subject) == {subject: 2}
    finally:
        await subscription.close()
        await bus.close()


async def test_connecting_to_a_server_that_is_down_raises_unavailable() -> None:
    with nats_server() as server:
        url = server.url
    with pytest.raises(Unavailable):
        await NatsEventBus.connect(url, connect_timeout_seconds=1)


async def test_sent_is_called_once_the_envelopes_went_out(bus: EventBus) -> None:
    subject = subjects.guild(fresh_id())
    subscription = await bus.subscribe(subject)
    calls: list[int] = []
    item = envelope(subject)
    await bus.publish([item], sent=lambda: calls.append(1))
    assert calls == [1]
    assert await take(subscription, 1) == [item]
    await subscription.close()


async def test_subscribers_get_a_durable_envelope_while_the_stream_holds_its_acknowledgement(
    own_nats_server: NatsServer,
) -> None:
    bus = await NatsEventBus.connect(own_nats_server.url, publish_timeout_seconds=60)
    nc = await nats.connect(own_nats_server.url)
    js = nc.jetstream()
    subject = subjects.guild(fresh_id())
    subscription = await bus.subscribe(subject)
    try:
        # In place of the stream, something that takes the store request and holds it.
        await js.delete_stream(STREAM)
        requests: asyncio.Queue[Msg] = asyncio.Queue()
        await nc.subscribe(subject, cb=requests.put)
        await nc.flush()
        went_out = asyncio.Event()
        item = envelope(subject)
        publish = asyncio.create_task(bus.publish([item], sent=went_out.set))
        request = await asyncio.wait_for(requests.get(), 5)

        assert await take(subscription, 1) == [item]
        assert went_out.is_set()
        assert not publish.done()

        # The acknowledgement comes at last.
        await nc.publish(request.reply, json.dumps({"stream": STREAM, "seq": 1}).encode())
        await publish
        await nothing_more(subscription)
    finally:
        await subscription.close()
        await nc.close()
        await bus.close()


async def test_subscribers_get_a_durable_envelope_the_missing_stream_could_not_store(
    own_nats_server: NatsServer,
) -> None:
    # No stream answers: the publish waits out its timeout.
    bus = await NatsEventBus.connect(own_nats_server.url, publish_timeout_seconds=1)
    nc = await nats.connect(own_nats_server.url)
    subject = subjects.guild(fresh_id())
    subscription = await bus.subscribe(subject)
    try:
        await nc.jetstream().delete_stream(STREAM)
        item = envelope(subject)
        with pytest.raises(Unavailable):
            await bus.publish([item])
        assert await take(subscription, 1) == [item]
        await nothing_more(subscription)
    finally:
        await subscription.close()
        await nc.close()
        await bus.close()
