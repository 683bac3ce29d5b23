"""Publishing after commit: the outbox rows are written with the state change; this sends them
at once for low latency and forgets them once the bus took them. A failed send leaves the rows
for the relay, so a crash or a bus outage delays events and never loses them."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from gochat.bus import Envelope, EventBus
from gochat.storage import OutboxStore

log = structlog.get_logger("gochat.events")


class EventPublisher:
    def __init__(self, bus: EventBus, outbox: OutboxStore) -> None:
        self._bus = bus
        self._outbox = outbox

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        try:
            await self._bus.publish(envelopes)
            await self._outbox.mark_published(envelopes)
        except Exception:
            log.warning("events.publish_deferred", count=len(envelopes), exc_info=True)
