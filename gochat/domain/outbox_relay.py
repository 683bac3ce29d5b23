"""The outbox relay: republishes events whose immediate publication did not go through.

`EventPublisher` sends events right after the write and then deletes their outbox rows. Rows still
there after a grace period belong to a send that failed, or to a process that died in between;
the relay sends them again and deletes them once the bus confirmed. A republished event goes
to live subscribers again too, so one whose first publish never went out reaches them late
rather than never; the hub drops the copy of one that did by event id. Durable consumers see
it once, because the bus deduplicates by event id within its duplicate window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from gochat import metrics
from gochat.bus import EventBus
from gochat.domain.publisher import Recorder
from gochat.errors import Unavailable
from gochat.ids import created_at
from gochat.storage import OutboxStore

log = structlog.get_logger("gochat.events")


class OutboxRelay:
    def __init__(
        self,
        outbox: OutboxStore,
        bus: EventBus,
        *,
        grace_seconds: float = 10.0,
        interval_seconds: float = 2.0,
        batch_size: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        recorder: Recorder | None = None,
    ) -> None:
        # The grace period must outlast a normal publish, or the relay races the publisher
        # and sends most events twice.
        self._outbox = outbox
        self._bus = bus
        self._grace = timedelta(seconds=grace_seconds)
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._stopping = asyncio.Event()
        self._recorder = recorder

    async def relay_once(self) -> int:
        """Republish every row older than the grace period; the number confirmed."""
        relayed = 0
        while True:
            now = self._clock()
            envelopes = await self._outbox.pending(
                older_than=now - self._grace, limit=self._batch_size
            )
            if relayed == 0:
                oldest = min((created_at(e.event_id) for e in envelopes), default=now)
                metrics.outbox_backlog_age.set(max(0.0, (now - oldest).total_seconds()))
            if not envelopes:
                return relayed
            await self._bus.publish(envelopes)
            if self._recorder is not None:
                await self._recorder(envelopes)
            await self._outbox.mark_published(envelopes)
            metrics.outbox_relayed.inc(len(envelopes))
            relayed += len(envelopes)
            if len(envelopes) < self._batch_size:
                return relayed

    async def run(self) -> None:
        """Relay every `interval_seconds` until stop(); failures are logged and retried."""
        while not self._stopping.is_set():
            try:
                relayed = await self.relay_once()
            except Unavailable as exc:  # the bus or the database is down: next round
                # (the outage itself is logged once per change by the readiness probes)
                log.debug("events.relay_failed", reason=exc.message)
            except Exception:  # a bug: logged in full, and retried next round all the same
                log.warning("events.relay_failed", exc_info=True)
            else:
                if relayed:
                    log.info("events.relayed", count=relayed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    def stop(self) -> None:
        """Make run() return after its current pass. Not a cancel: a pass is never cut off
        between its publish and its outbox delete."""
        self._stopping.set()
