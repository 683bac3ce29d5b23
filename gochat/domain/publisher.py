"""Publishing after commit: the outbox rows are written with the state change; this sends them
at once for low latency, then forgets the rows that reached the bus in batches (one delete per
batch instead of one write transaction per event). A failed send leaves the rows for the relay,
so a crash or a bus outage delays events and never loses them; consumers drop the duplicates a
crash before the batched delete can cause, by event id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from gochat.bus import Envelope, EventBus
from gochat.errors import Unavailable
from gochat.storage import OutboxStore

log = structlog.get_logger("gochat.events")

CONFIRM_BATCH = 500


class EventPublisher:
    def __init__(
        self, bus: EventBus, outbox: OutboxStore, *, confirm_delay_seconds: float = 0.2
    ) -> None:
        self._bus = bus
        self._outbox = outbox
        self._delay = confirm_delay_seconds
        self._published: list[Envelope] = []
        self._flusher: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[Sequence[Envelope]], None]] = []

    def add_listener(self, listener: Callable[[Sequence[Envelope]], None]) -> None:
        """Called with every batch of committed events, before they reach the bus (caches of
        this process drop what the events make stale)."""
        self._listeners.append(listener)

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        for listener in self._listeners:
            listener(envelopes)
        try:
            await self._bus.publish(envelopes)
        except Unavailable as exc:  # expected during a bus outage: no traceback per change
            log.warning("events.publish_deferred", count=len(envelopes), reason=exc.message)
            return
        except Exception:  # the relay retries whatever failed here
            log.warning("events.publish_deferred", count=len(envelopes), exc_info=True)
            return
        self._published.extend(envelopes)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

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
                await self._outbox.mark_published(batch)
            except Exception:  # rows stay; the relay republishes them
                log.warning("events.confirm_deferred", count=len(batch), exc_info=True)
                return

    async def close(self) -> None:
        # Let a scheduled flush finish rather than cancel it in the middle of a transaction.
        if self._flusher is not None:
            await self._flusher
        await self.flush()
