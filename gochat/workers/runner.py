"""The worker runner: feeds an event handler from a durable source and settles what it did.

A handler is a class with no loop of its own; the runner fetches batches of events from its
source (a JetStream pull consumer at scale, shared by every process of the same worker kind;
the relational store's job table embedded, see gochat/workers/sources.py), skips the event types
the handler does not name, settles a batch only after `handle` returned, retries with backoff on
Unavailable, and parks an event that keeps failing otherwise where `gochat tools jobs` lists
and replays it. Handlers are registered in gochat/wiring/background.py (`event_handlers`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from gochat import metrics
from gochat.bus import Envelope
from gochat.bus.codec import UnknownEvent, decode, event_type
from gochat.domain.events import Event
from gochat.domain.handlers import EventHandler
from gochat.errors import Unavailable
from gochat.ids import created_at
from gochat.storage.jobs import JobStore, ParkedJob
from gochat.tasks import stop_task
from gochat.tracing import Tracing

__all__ = ["Delivery", "EventHandler", "EventWorker", "JobSource", "replay_parked"]

log = structlog.get_logger("gochat.workers")

MAX_ATTEMPTS = 5
RETRY_DELAYS_SECONDS = (1.0, 5.0, 30.0, 120.0, 300.0)


class Delivery(Protocol):
    @property
    def envelope(self) -> Envelope: ...

    @property
    def attempts(self) -> int:
        """Deliveries so far, this one included."""
        ...


class JobSource(Protocol):
    def batches(self, worker: str, size: int) -> AsyncIterator[Sequence[Delivery]]:
        """Batches of deliveries for `worker`, until the source closes."""
        ...

    async def ack(self, worker: str, deliveries: Sequence[Delivery]) -> None:
        """The deliveries' work is done (or never needed): forget them."""

    async def retry(self, worker: str, deliveries: Sequence[Delivery], *, delay: float) -> None:
        """Deliver these again after `delay` seconds."""


def retry_delay(attempts: int) -> float:
    return RETRY_DELAYS_SECONDS[min(max(attempts, 1), len(RETRY_DELAYS_SECONDS)) - 1]


class EventWorker:
    """Runs one handler from one source until stopped."""

    def __init__(
        self,
        handler: EventHandler,
        source: JobSource,
        jobs: JobStore,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        tracing: Tracing | None = None,
    ) -> None:
        self.handler = handler
        self._tracing = tracing
        self._source = source
        self._jobs = jobs
        self._max_attempts = max_attempts
        self._task: asyncio.Task[None] | None = None
        self.handled = 0
        self.parked = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"gochat-worker-{self.handler.name}")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def run(self) -> None:
        """Handle batches until the source ends; a source that fails (the store or the bus
        unreachable) is reopened after a pause."""
        name = self.handler.name
        unavailable = False  # logged once per outage, not once per retry
        while True:
            try:
                async for batch in self._source.batches(name, self.handler.batch_size):
                    if unavailable:
                        log.info("worker.source_recovered", worker=name)
                        unavailable = False
                    await self.settle(batch)
                return
            except Unavailable as exc:
                level = log.debug if unavailable else log.warning
                level("worker.source_unavailable", worker=name, reason=exc.message)
                unavailable = True
            except Exception:  # a bug here must not end the worker for good
                log.exception("worker.loop_failed", worker=name)
            await asyncio.sleep(RETRY_DELAYS_SECONDS[0])

    async def settle(self, batch: Sequence[Delivery]) -> None:
        """Handle one batch and settle every delivery in it."""
        name = self.handler.name
        skipped: list[Delivery] = []
        wanted: list[tuple[Delivery, Event]] = []
        seen: set[int] = set()
        for delivery in batch:
            envelope = delivery.envelope
            if (
                event_type(envelope.payload) not in self.handler.event_types
                or envelope.event_id in seen  # the same event on another subject
            ):
                skipped.append(delivery)
                continue
            seen.add(envelope.event_id)
            try:
                wanted.append((delivery, decode(envelope.payload)))
            except (UnknownEvent, ValueError) as exc:
                await self._park(delivery, f"cannot decode: {exc}")
        if skipped:
            await self._source.ack(name, skipped)
            metrics.worker_events.labels(name, "skipped").inc(len(skipped))
        if not wanted:
            return
        try:
            await self._handle(wanted)
        except Unavailable as exc:
            attempts = max(d.attempts for d, _ in wanted)
            log.info("worker.retry", worker=name, count=len(wanted), reason=exc.message)
            await self._source.retry(name, [d for d, _ in wanted], delay=retry_delay(attempts))
            metrics.worker_events.labels(name, "retried").inc(len(wanted))
            return
        except Exception as exc:  # noqa: BLE001 - a handler failure of any kind is the poison case
            if len(wanted) == 1:
                await self._failed(wanted[0][0], exc)
                return
            # Find the culprits: each event alone, so one bad event does not hold the rest.
            for delivery, event in wanted:
                await self._handle_alone(delivery, event)
            return
        await self._source.ack(name, [d for d, _ in wanted])
        self._handled([d for d, _ in wanted])

    async def _handle(self, wanted: Sequence[tuple[Delivery, Event]]) -> None:
        events = [event for _, event in wanted]
        if self._tracing is None:
            await self.handler.handle(events)
            return
        envelopes = [d.envelope for d, _ in wanted]
        with self._tracing.worker_span(self.handler.name, envelopes):
            await self.handler.handle(events)

    def _handled(self, deliveries: Sequence[Delivery]) -> None:
        name = self.handler.name
        self.handled += len(deliveries)
        metrics.worker_events.labels(name, "handled").inc(len(deliveries))
        lag = metrics.worker_lag_seconds.labels(name)
        now = datetime.now(UTC)
        for delivery in deliveries:
            lag.observe(max(0.0, (now - created_at(delivery.envelope.event_id)).total_seconds()))

    async def _handle_alone(self, delivery: Delivery, event: Event) -> None:
        name = self.handler.name
        try:
            await self._handle([(delivery, event)])
        except Unavailable:
            await self._source.retry(name, [delivery], delay=retry_delay(delivery.attempts))
        except Exception as exc:  # noqa: BLE001 - any failure of one event counts toward parking
            await self._failed(delivery, exc)
        else:
            await self._source.ack(name, [delivery])
            self._handled([delivery])

    async def _failed(self, delivery: Delivery, exc: Exception) -> None:
        name = self.handler.name
        if delivery.attempts >= self._max_attempts:
            await self._park(delivery, f"{type(exc).__name__}: {exc}")
            return
        log.warning(
            "worker.item_failed",
            worker=name,
            event_id=delivery.envelope.event_id,
            attempts=delivery.attempts,
            exc_info=exc,
        )
        await self._source.retry(name, [delivery], delay=retry_delay(delivery.attempts))
        metrics.worker_events.labels(name, "retried").inc()

    async def _park(self, delivery: Delivery, error: str) -> None:
        name = self.handler.name
        log.error("worker.parked", worker=name, event_id=delivery.envelope.event_id, error=error)
        await self._jobs.park(
            ParkedJob(
                worker=name,
                envelope=delivery.envelope,
                error=error,
                attempts=delivery.attempts,
                parked_at=datetime.now(UTC),
            )
        )
        await self._source.ack(name, [delivery])
        self.parked += 1
        metrics.worker_events.labels(name, "parked").inc()


async def replay_parked(
    handler: EventHandler, jobs: JobStore, *, event_id: int | None, limit: int = 1000
) -> tuple[int, int]:
    """Handle parked events of `handler` again in this process (all, or one event); those
    that succeed are forgotten. Returns (replayed, still failing)."""
    replayed = failing = 0
    for parked in await jobs.parked(worker=handler.name, limit=limit):
        if event_id is not None and parked.envelope.event_id != event_id:
            continue
        try:
            await handler.handle([decode(parked.envelope.payload)])
        except Exception:
            log.warning(
                "worker.replay_failed",
                worker=handler.name,
                event_id=parked.envelope.event_id,
                exc_info=True,
            )
            failing += 1
            continue
        await jobs.unpark(handler.name, parked.envelope.event_id)
        replayed += 1
    return replayed, failing
