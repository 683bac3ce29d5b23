"""Where workers' events come from: the relational store's job table (embedded, fed by
`JobFeed`) or a JetStream pull consumer per worker kind (scale)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gochat.bus import Envelope, subjects
from gochat.bus.codec import decode, event_type
from gochat.domain.events import Event
from gochat.errors import Unavailable
from gochat.storage.jobs import Job, JobStore
from gochat.workers.runner import Delivery

if TYPE_CHECKING:
    # Only a process whose bus is NATS builds a JetStreamSource, with the bus it opened.
    from gochat.bus.nats import JobAck, NatsEventBus


Wants = Callable[[Event], bool]


class JobFeed:
    """Records committed events as jobs of the worker kinds that handle their types. The
    publisher and the outbox relay call it before they forget outbox rows, so an event is
    either still in the outbox (and comes again) or already queued."""

    def __init__(self, jobs: JobStore) -> None:
        self._jobs = jobs
        self._routes: dict[str, tuple[frozenset[str], Wants | None]] = {}
        self._wakers: list[asyncio.Event] = []

    def route(self, worker: str, event_types: frozenset[str], wants: Wants | None = None) -> None:
        """Record events of `event_types` for `worker` from now on, those `wants` accepts
        when given (most messages need no embed and no preview: no job, no claim)."""
        self._routes[worker] = (event_types, wants)

    def waker(self) -> asyncio.Event:
        """Set whenever jobs were recorded."""
        event = asyncio.Event()
        self._wakers.append(event)
        return event

    async def record(self, envelopes: Sequence[Envelope]) -> None:
        jobs: list[tuple[str, Envelope]] = []
        for envelope in envelopes:
            kind = event_type(envelope.payload)
            event: Event | None = None
            for worker, (types, wants) in self._routes.items():
                if kind not in types:
                    continue
                if wants is not None:
                    if event is None:
                        try:
                            event = decode(envelope.payload)
                        except ValueError:  # the worker parks what it cannot decode
                            jobs.append((worker, envelope))
                            continue
                    if not wants(event):
                        continue
                jobs.append((worker, envelope))
        if not jobs:
            return
        await self._jobs.enqueue(jobs, now=datetime.now(UTC))
        for waker in self._wakers:
            waker.set()


class JobTableSource:
    """Jobs claimed from the job table under a lease, polled and woken by the feed."""

    def __init__(
        self,
        jobs: JobStore,
        wake: asyncio.Event,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 120.0,
    ) -> None:
        self._jobs = jobs
        self._wake = wake
        self._poll = poll_seconds
        self._lease = lease_seconds

    async def batches(self, worker: str, size: int) -> AsyncIterator[Sequence[Delivery]]:
        while True:
            self._wake.clear()
            claimed = await self._jobs.claim(
                worker, limit=size, now=datetime.now(UTC), lease_seconds=self._lease
            )
            if claimed:
                yield claimed
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def ack(self, worker: str, deliveries: Sequence[Delivery]) -> None:
        await self._jobs.complete(worker, [d.envelope.event_id for d in deliveries])

    async def retry(self, worker: str, deliveries: Sequence[Delivery], *, delay: float) -> None:
        at = datetime.now(UTC) + timedelta(seconds=delay)
        await self._jobs.retry(worker, [d.envelope.event_id for d in deliveries], at=at)


@dataclass(frozen=True, slots=True)
class _StreamDelivery:
    envelope: Envelope
    settle: JobAck

    @property
    def attempts(self) -> int:
        return self.settle.attempt


class JetStreamSource:
    """One durable pull consumer per worker kind on the events stream: every process running
    that kind shares it, so each event goes to one of them (work-queue semantics)."""

    def __init__(
        self, bus: NatsEventBus, *, ack_wait_seconds: float = 60.0, fetch_timeout: float = 2.0
    ) -> None:
        self._bus = bus
        self._ack_wait = ack_wait_seconds
        self._fetch_timeout = fetch_timeout

    async def batches(self, worker: str, size: int) -> AsyncIterator[Sequence[Delivery]]:
        batches = self._bus.durable_batches(
            f"worker-{worker}",
            subjects.stream_subjects(),
            batch=size,
            ack_wait_seconds=self._ack_wait,
            fetch_timeout_seconds=self._fetch_timeout,
        )
        async with contextlib.aclosing(batches):
            async for fetched in batches:
                yield [_StreamDelivery(envelope, ack) for envelope, ack in fetched]

    async def ack(self, worker: str, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            assert isinstance(delivery, _StreamDelivery)
            await delivery.settle()

    async def retry(self, worker: str, deliveries: Sequence[Delivery], *, delay: float) -> None:
        for delivery in deliveries:
            assert isinstance(delivery, _StreamDelivery)
            with contextlib.suppress(Unavailable):  # unsettled, it comes back after ack_wait
                await delivery.settle.nak(delay_seconds=delay)


__all__ = ["JetStreamSource", "Job", "JobFeed", "JobTableSource"]
