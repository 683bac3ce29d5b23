"""NATS event bus: core subjects for fan-out, one JetStream stream for durable consumers.

Every durable envelope is published once, as a JetStream publish on its own subject: core
subscribers of that subject receive it like any message, as the server routes it, without
waiting for the `GOCHAT_EVENTS` stream (capturing the durable subject families) to store it.
Ephemeral envelopes (presence, typing) are plain core messages on subjects the stream does not
capture. The server acknowledges the store, so `publish` returning means the event is durable,
and the outbox row may go. `Nats-Msg-Id` is the event id plus the subject: one event is sealed
for several subjects, and each copy must survive deduplication while a republished copy (outbox
relay, crash before the outbox delete) within the duplicate window is dropped. The republished
copy reaches core subscribers again; the hub drops it by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client, Server
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as CoreSubscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from gochat.bus import Envelope, SlowConsumer, subjects
from gochat.errors import Unavailable

log = structlog.get_logger("gochat.bus")

STREAM = "GOCHAT_EVENTS"
MSG_ID = "Nats-Msg-Id"
EVENT_ID = "Gochat-Event-Id"
TRACEPARENT = "traceparent"

_CLOSED = object()
_DRIVER_ERRORS = (nats.errors.Error, OSError, TimeoutError)
_MAX_BACKOFF_EXPONENT = 8


def _headers(envelope: Envelope) -> dict[str, str]:
    headers = {MSG_ID: f"{envelope.event_id}:{envelope.subject}", EVENT_ID: str(envelope.event_id)}
    if envelope.trace:
        headers[TRACEPARENT] = envelope.trace
    return headers


def _envelope(msg: Msg) -> Envelope | None:
    headers = msg.headers or {}
    try:
        event_id = int(headers[EVENT_ID])
    except (KeyError, ValueError):
        return None
    return Envelope(
        subject=msg.subject,
        event_id=event_id,
        payload=msg.data,
        trace=headers.get(TRACEPARENT, ""),
    )


class _NatsSubscription:
    """A bounded buffer fed by nats-py's callback; overflow ends it with SlowConsumer."""

    def __init__(self, bus: NatsEventBus, subject: str, max_pending: int) -> None:
        self._bus = bus
        self.subject = subject
        self._max_pending = max_pending
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max_pending + 1)
        self._overflowed = False
        self._closed = False
        # Set when nats-py dropped a message: how many queued before the drop still count.
        self._cutoff: int | None = None
        self.core: CoreSubscription | None = None

    async def on_msg(self, msg: Msg) -> None:
        envelope = _envelope(msg)
        if envelope is None:
            log.warning("bus.foreign_message", subject=msg.subject)
        elif self._cutoff is None:
            self.offer(envelope)
        elif self._cutoff > 0:
            self._cutoff -= 1
            self.offer(envelope)
        if self._cutoff == 0:
            self.overflow()

    def dropped(self, still_queued: int) -> None:
        """nats-py's own queue overflowed: the `still_queued` messages it holds came before
        the gap and are delivered, then the subscription ends with SlowConsumer."""
        if self._cutoff is None:
            self._cutoff = still_queued
            if still_queued == 0:
                self.overflow()

    def offer(self, envelope: Envelope) -> None:
        if self._closed or self._overflowed:
            return
        if self._queue.qsize() >= self._max_pending:
            self.overflow()
            return
        self._queue.put_nowait(envelope)

    def overflow(self) -> None:
        if not self._closed and not self._overflowed:
            self._overflowed = True
            self._queue.put_nowait(_CLOSED)

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                if self._overflowed:
                    raise SlowConsumer(self.subject)
                return
            assert isinstance(item, Envelope)
            yield item

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._bus.discard(self)
        if not self._overflowed:
            self._queue.put_nowait(_CLOSED)


class JobAck:
    """Settles one durable delivery. Unsettled deliveries come back after `ack_wait`."""

    def __init__(self, msg: Msg) -> None:
        self._msg = msg

    @property
    def attempt(self) -> int:
        """1 on first delivery, then one more per redelivery."""
        return int(self._msg.metadata.num_delivered)

    async def __call__(self) -> None:
        """Acknowledge and wait until the server recorded it."""
        try:
            await self._msg.ack_sync()
        except _DRIVER_ERRORS as exc:
            raise Unavailable("event bus did not confirm the ack") from exc

    async def nak(self, *, delay_seconds: float | None = None) -> None:
        """Ask for a redelivery, after `delay_seconds` when given."""
        try:
            await self._msg.nak(delay=delay_seconds)
        except _DRIVER_ERRORS as exc:
            raise Unavailable("event bus did not take the nak") from exc


class NatsEventBus:
    def __init__(
        self, nc: Client, js: JetStreamContext, *, stream: str, publish_timeout_seconds: float
    ) -> None:
        self._nc = nc
        self._js = js
        self._stream = stream
        self._publish_timeout = publish_timeout_seconds
        self._subscriptions: dict[CoreSubscription, _NatsSubscription] = {}
        self._reconnect_listeners: list[Callable[[], Awaitable[None]]] = []
        self._connected = asyncio.Event()
        self._closing = False
        self._connected.set()
        # Acknowledgements awaited by publish(): failed at once when the connection drops,
        # since their replies can no longer arrive (a republish is deduplicated anyway).
        self._awaiting_acks: set[asyncio.Future[Any]] = set()

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str = "gochat",
        stream: str = STREAM,
        duplicate_window_seconds: float = 120.0,
        max_age_seconds: float = 7 * 86_400,
        publish_timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 10.0,
        reconnect_initial_seconds: float = 0.1,
        reconnect_max_seconds: float = 2.0,
    ) -> NatsEventBus:
        """Connect, then create or update the stream. Raises Unavailable when NATS does not
        answer within `connect_timeout_seconds`; once connected, the client reconnects forever
        with jittered exponential backoff and replays its subscriptions."""
        bus: NatsEventBus | None = None

        def next_server(
            servers: list[Server], _info: dict[str, Any]
        ) -> tuple[Server | None, float]:
            attempts = min(*(s.reconnects for s in servers), _MAX_BACKOFF_EXPONENT)
            delay = min(reconnect_max_seconds, reconnect_initial_seconds * 2**attempts)
            # Jitter spreads the reconnects of many processes after a server restart.
            return None, delay * random.uniform(0.5, 1.0)  # noqa: S311 - not cryptographic

        async def on_error(exc: Exception) -> None:
            if bus is not None:
                await bus._on_error(exc)

        async def on_disconnected() -> None:
            if bus is not None:
                bus._on_disconnected()

        async def on_reconnected() -> None:
            if bus is not None:
                await bus._on_reconnected()

        nc = Client()
        try:
            # With unlimited reconnects nats-py also retries the first connect forever.
            async with asyncio.timeout(connect_timeout_seconds):
                await nc.connect(
                    servers=[url],
                    name=name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_to_server_handler=next_server,
                    error_cb=on_error,
                    disconnected_cb=on_disconnected,
                    reconnected_cb=on_reconnected,
                )
            js = nc.jetstream(timeout=publish_timeout_seconds)
            bus = cls(nc, js, stream=stream, publish_timeout_seconds=publish_timeout_seconds)
            await bus._ensure_stream(
                StreamConfig(
                    name=stream,
                    subjects=subjects.stream_subjects(),
                    storage=StorageType.FILE,
                    duplicate_window=duplicate_window_seconds,
                    max_age=max_age_seconds,
                )
            )
        except _DRIVER_ERRORS as exc:
            await nc.close()
            raise Unavailable(f"cannot reach the event bus: {exc}") from exc
        return bus

    async def _ensure_stream(self, config: StreamConfig) -> None:
        assert config.name is not None
        try:
            await self._js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(config)
            return
        await self._js.update_stream(config)

    @property
    def connected(self) -> bool:
        return self._nc.is_connected

    async def ping(self) -> None:
        """A round trip to the server (for readiness); Unavailable when there is none."""
        if not self._nc.is_connected:
            raise Unavailable("event bus disconnected")
        try:
            await self._nc.flush(timeout=1)
        except _DRIVER_ERRORS as exc:
            raise Unavailable("event bus unreachable") from exc

    async def wait_reconnected(self) -> None:
        """Return at once when connected, else when the connection is back."""
        await self._connected.wait()

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        self._reconnect_listeners.append(callback)

        def remove() -> None:
            if callback in self._reconnect_listeners:
                self._reconnect_listeners.remove(callback)

        return remove

    def _on_disconnected(self) -> None:
        self._connected.clear()
        if not self._closing:
            log.warning("bus.disconnected", awaiting_acks=len(self._awaiting_acks))
        lost = Unavailable("event bus connection lost before the publish was confirmed")
        for future in self._awaiting_acks:
            if not future.done():
                future.set_exception(lost)
        self._awaiting_acks.clear()

    async def _on_reconnected(self) -> None:
        self._connected.set()
        log.info("bus.reconnected", reconnects=self._nc.stats["reconnects"])
        for callback in tuple(self._reconnect_listeners):
            try:
                await callback()
            except Exception:  # one broken listener must not starve the others
                log.exception("bus.reconnect_listener_failed")

    async def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, nats.errors.SlowConsumerError):
            subscription = self._subscriptions.get(exc.sub)
            if subscription is not None:
                subscription.dropped(exc.sub.pending_msgs)
            return
        # The connection's loss, and while cut off every failed reconnection attempt, report
        # an error: the outage is already in the log (bus.disconnected, then bus.reconnected).
        lost = isinstance(exc, nats.errors.UnexpectedEOF | OSError)
        level = log.debug if lost or not self._connected.is_set() else log.warning
        level("bus.nats_error", error=str(exc) or type(exc).__name__)

    async def publish(
        self,
        envelopes: Sequence[Envelope],
        *,
        durable: bool = True,
        sent: Callable[[], None] | None = None,
    ) -> None:
        """Store every envelope in the stream (which also delivers it to core subscribers, at
        once) and wait for all acknowledgements. Raises Unavailable when any is not confirmed
        (core subscribers may have it); the caller's outbox keeps the rows and a later
        republish is deduplicated. Ephemeral envelopes go out as core messages, outside the
        stream, with no confirmation."""
        if not envelopes:
            return
        if not durable:
            try:
                for e in envelopes:
                    await self._nc.publish(e.subject, e.payload, headers=_headers(e))
            except _DRIVER_ERRORS as exc:
                raise Unavailable("event bus unreachable") from exc
            if sent is not None:
                sent()
            return
        if not self._nc.is_connected:
            # Disconnected or reconnecting: nats-py would buffer the publish and its ack could
            # only time out. The caller's outbox keeps the events for the relay.
            raise Unavailable("event bus disconnected")
        futures: list[asyncio.Future[Any]] = []
        try:
            for e in envelopes:
                future = await self._js.publish_async(
                    e.subject, e.payload, stream=self._stream, headers=_headers(e)
                )
                futures.append(future)
                self._awaiting_acks.add(future)
            if sent is not None:
                sent()
            async with asyncio.timeout(self._publish_timeout):
                await asyncio.gather(*futures)
        except _DRIVER_ERRORS as exc:
            raise Unavailable(f"event bus did not confirm {len(envelopes)} events") from exc
        finally:
            self._awaiting_acks.difference_update(futures)
            for future in futures:
                if not future.done():  # timed out: release nats-py's pending-ack slot
                    future.cancel()

    async def subscribe(self, subject: str, *, max_pending: int = 1024) -> _NatsSubscription:
        subscription = _NatsSubscription(self, subject, max_pending)
        try:
            # nats-py queues for the callback too, with the same bound; its overflow arrives
            # as SlowConsumerError in _on_error.
            sub = await self._nc.subscribe(
                subject, cb=subscription.on_msg, pending_msgs_limit=max_pending
            )
            # The subscription exists on the server only once the SUB is flushed.
            await self._nc.flush(timeout=max(1, round(self._publish_timeout)))
        except _DRIVER_ERRORS as exc:
            raise Unavailable(f"cannot subscribe to {subject}") from exc
        subscription.core = sub
        self._subscriptions[sub] = subscription
        return subscription

    async def discard(self, subscription: _NatsSubscription) -> None:
        sub = subscription.core
        if sub is None or self._subscriptions.pop(sub, None) is None:
            return
        if not self._nc.is_closed:
            try:
                await sub.unsubscribe()
            except _DRIVER_ERRORS:
                log.debug("bus.unsubscribe_failed", subject=subscription.subject)

    async def durable_consumer(
        self,
        name: str,
        filter_subject: str,
        *,
        batch: int = 32,
        ack_wait_seconds: float = 30.0,
        fetch_timeout_seconds: float = 5.0,
    ) -> AsyncIterator[tuple[Envelope, JobAck]]:
        """Envelopes stored in the stream on `filter_subject`, one at a time, from the durable
        consumer `name` (see `durable_batches`)."""
        batches = self.durable_batches(
            name,
            [filter_subject],
            batch=batch,
            ack_wait_seconds=ack_wait_seconds,
            fetch_timeout_seconds=fetch_timeout_seconds,
        )
        async with contextlib.aclosing(batches):
            async for fetched in batches:
                for index, (envelope, ack) in enumerate(fetched):
                    try:
                        yield envelope, ack
                    except GeneratorExit:
                        # Hand back what was fetched but never yielded, instead of letting
                        # it wait out ack_wait on a consumer that stopped.
                        for _, unsent in fetched[index + 1 :]:
                            with contextlib.suppress(Unavailable):
                                await unsent.nak()
                        raise

    async def durable_batches(
        self,
        name: str,
        filter_subjects: Sequence[str],
        *,
        batch: int = 32,
        ack_wait_seconds: float = 30.0,
        fetch_timeout_seconds: float = 5.0,
    ) -> AsyncGenerator[list[tuple[Envelope, JobAck]], None]:
        """Batches of envelopes stored in the stream on `filter_subjects`, from the durable
        consumer `name` (created on first use, shared by every process that uses the same
        name: each envelope goes to one of them). Each must be settled with its JobAck; one
        left unsettled for `ack_wait_seconds` is delivered again. Ends when the bus closes."""
        config = ConsumerConfig(
            durable_name=name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait_seconds,
            filter_subjects=list(filter_subjects),
        )
        try:
            pull = await self._js.pull_subscribe(
                filter_subjects[0], durable=name, stream=self._stream, config=config
            )
        except _DRIVER_ERRORS as exc:
            raise Unavailable(f"cannot open the durable consumer {name}") from exc
        try:
            while not self._nc.is_closed:
                try:
                    msgs = await pull.fetch(batch, timeout=fetch_timeout_seconds)
                except TimeoutError:
                    # Nothing new yet, or the connection is coming back. nats-py raises its own
                    # TimeoutError, or asyncio's when the deadline passed before its lingering
                    # request went out: both mean "no messages this time".
                    continue
                except nats.errors.ConnectionClosedError:
                    return
                fetched: list[tuple[Envelope, JobAck]] = []
                for msg in msgs:
                    envelope = _envelope(msg)
                    if envelope is None:
                        await msg.term()  # never ours; redelivering it cannot help
                    else:
                        fetched.append((envelope, JobAck(msg)))
                if fetched:
                    yield fetched
        finally:
            if not self._nc.is_closed:
                with contextlib.suppress(*_DRIVER_ERRORS):
                    await pull.unsubscribe()

    async def close(self) -> None:
        self._closing = True
        for subscription in list(self._subscriptions.values()):
            await subscription.close()
        if not self._nc.is_closed:
            await self._nc.close()
