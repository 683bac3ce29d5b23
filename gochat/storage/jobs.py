"""The job port: durable work for background workers, and the events they gave up on.

Embedded, the relational store holds each worker kind's queue: committed events are recorded
for the kinds that handle their type before their outbox rows are forgotten, so a crash can
delay work and never lose it. At scale the JetStream stream is the queue and only parked events
live here, where `gochat tools jobs` lists and replays them whichever source they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gochat.bus import Envelope


@dataclass(frozen=True, slots=True)
class Job:
    worker: str
    envelope: Envelope
    attempts: int  # deliveries so far, this one included


@dataclass(frozen=True, slots=True)
class ParkedJob:
    worker: str
    envelope: Envelope
    error: str
    attempts: int
    parked_at: datetime


class JobStore(Protocol):
    async def enqueue(self, jobs: Sequence[tuple[str, Envelope]], *, now: datetime) -> None:
        """Record (worker, envelope) jobs, once per worker and event id: recording the same
        event again (a relay's resend, a second subject) changes nothing."""

    async def claim(
        self, worker: str, *, limit: int, now: datetime, lease_seconds: float
    ) -> list[Job]:
        """Up to `limit` jobs of `worker` due at `now`, oldest first, hidden from other
        claims for `lease_seconds` (a worker that dies with them lets them come back)."""

    async def complete(self, worker: str, event_ids: Sequence[int]) -> None:
        """Forget finished jobs."""

    async def retry(self, worker: str, event_ids: Sequence[int], *, at: datetime) -> None:
        """Make claimed jobs due again at `at`."""

    async def pending(self, worker: str) -> int:
        """Jobs of `worker` not finished yet."""

    async def park(self, job: ParkedJob) -> None:
        """Keep an event a worker gave up on (and forget its queued job, if any)."""

    async def parked(self, *, worker: str | None, limit: int) -> list[ParkedJob]:
        """Parked events, oldest first."""

    async def unpark(self, worker: str, event_id: int) -> None:
        """Forget a parked event (after a successful replay)."""
