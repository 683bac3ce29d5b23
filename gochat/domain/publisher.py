"""Publishing after commit: the outbox rows are written with the state change; this sends them
at once for low latency, then forgets the rows that reached the bus in batches (one delete per
batch instead of one write transaction per event). A failed send leaves the rows for the relay,
so a crash or a bus outage delays events and never loses them; consumers drop the duplicates a
crash before the batched delete can cause, by event id."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable, Sequence

import structlog

from gochat import metrics
from gochat.bus import Envelope, EventBus
from gochat.errors import Unavailable
from gochat.storage import OutboxStore

log = structlog.get_logger("gochat.events")

CONFIRM_BATCH = 500

# Called with published envelopes before their outbox rows are forgotten: the embedded job
# feed records them for workers there, so a crash in between leaves them in the outbox.
Recorder = Callable[[Sequence[Envelope]], Awaitable[None]]
# Returns the envelopes marked with the publishing change's trace context (when traces are on).
Stamp = Callable[[Sequence[Envelope]], Sequence[Envelope]]


class EventPublisher:
    def __init__(
        self,
        bus: EventBus,
        outbox: OutboxStore,
        *,
        confirm_delay_seconds: float = 0.2,
        recorder: Recorder | None = None,
        stamp: Stamp | None = None,
    ) -> None:
        self._bus = bus
        self._recorder = recorder
        self._stamp = stamp
        self._outbox = outbox
        self._delay = confirm_delay_seconds
        self._published: list[Envelope] = []
        self._flusher: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[Sequence[Envelope]], None]] = []

    def add_listener(self, listener: Callable[[Sequence[Envelope]], None]) -> None:
        """Called with every batch of committed events, before they reach the bus (caches of
        this process drop what the events make stale)."""
        self._listeners.append(listener)

    async def publish(
        self, envelopes: Sequence[Envelope], *, sent: Callable[[], None] | None = None
    ) -> None:
        """Send committed events to the bus; `sent` as in `EventBus.publish` (called once they
        went out in order, before the bus confirms them; maybe never)."""
        if not envelopes:
            return
        if self._stamp is not None:
            envelopes = self._stamp(envelopes)
        for listener in self._listeners:
            listener(envelopes)
        started = time.perf_counter()
        try:
            await self._bus.publish(envelopes, sent=sent)
        except Unavailable as exc:  # a bus outage: logged once by the readiness probes
            log.debug("events.publish_deferred", count=len(envelopes), reason=exc.message)
            metrics.bus_publish_deferred.inc(len(envelopes))
            return
        except Exception:  # the relay retries whatever failed here
            log.warning("events.publish_deferred", count=len(envelopes), exc_info=True)
            metrics.bus_publish_deferred.inc(len(envelopes))
            return
        metrics.bus_publish_seconds.observe(time.perf_counter() - started)
        metrics.bus_published.inc(len(envelopes))
        self._published.extend(envelopes)
        if self._flusher is None or self._flusher.done():
            # Its own context: the flush serves every change published until it runs, not
            # only the one whose request happened to start it.
            self._flusher = asyncio.create_task(self._flush_later(), context=contextvars.Context())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._delay)
        await self.flush()

    async def flush(self) -> None:
        """Forget the outbox rows of everything published so far."""
        while self._published:
            batch, self._published = (
                self._published[:CONFIRM_BATCH],
                self._published[CONFIRM_BATCH:],
            )
            try:
                if self._recorder is not None:
                    await self._recorder(batch)
                await self._outbox.mark_published(batch)
            except Exception:  # rows stay; the relay republishes them
                log.warning("events.confirm_deferred", count=len(batch), exc_info=True)
                return

    async def close(self) -> None:
        # Let a scheduled flush finish rather than cancel it in the middle of a transaction.
        if self._flusher is not None:
            await self._flusher
        await self.flush()


class PublishOrder:
    """Publication in the order turns were taken, per key (a channel).

    A message's id is taken before its transaction, and concurrent sends commit in whichever
    order their group-commit batches finish, so publishing right after commit would let a
    newer id reach subscribers before an older one. Taking a turn in the same step as the id
    and publishing only once every earlier turn of the channel is over keeps each channel's
    events in id order for every subscriber of this process (and, on NATS, of every process:
    one connection delivers a subject's messages in publication order). A turn that ends
    without publishing (the send failed, or repeated a nonce) lets the next one go; so does
    one whose events went out (`EventBus.publish`'s `sent`), without waiting for the bus to
    confirm that it recorded them.

    A turn waits for the earlier ones at most `max_wait_seconds`: a publish normally takes
    milliseconds, but one that waits for a bus that is down (until its timeout, for the relay
    to resend later) must not make every later send of the channel wait behind it in turn."""

    def __init__(self, *, max_wait_seconds: float = 1.0) -> None:
        self.max_wait_seconds = max_wait_seconds
        self._last: dict[object, _Turn] = {}

    def take(self, key: object) -> _Turn:
        """A new turn, after every turn taken for `key` so far. Call `close()` on it."""
        turn = _Turn(self, key, self._last.get(key))
        self._last[key] = turn
        return turn

    def _forget(self, turn: _Turn) -> None:
        if self._last.get(turn.key) is turn:
            del self._last[turn.key]


class _Turn:
    __slots__ = ("_after", "_closed", "_order", "_over", "key")

    def __init__(self, order: PublishOrder, key: object, before: _Turn | None) -> None:
        self._order = order
        self.key = key
        self._closed = False
        # Done once this turn and every earlier one are over. A turn references only its
        # predecessor's future, so a line whose turns are over holds nothing.
        self._over: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._after = before._over if before is not None else None

    async def wait(self) -> None:
        """Until every earlier turn of the key is over, or `max_wait_seconds` have passed."""
        if self._after is not None and not self._after.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._after), self._order.max_wait_seconds)

    def close(self) -> None:
        """End the turn (once); the next one goes when every earlier one has ended too."""
        if self._closed:
            return
        self._closed = True
        after, self._after = self._after, None
        if after is None or after.done():
            self._end()
        else:
            after.add_done_callback(lambda _: self._end())

    def _end(self) -> None:
        self._over.set_result(None)
        self._order._forget(self)
