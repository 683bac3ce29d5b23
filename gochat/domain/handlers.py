"""What a background worker's handler provides (the runner is gochat/workers/runner.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gochat.domain.events import Event


class EventHandler(Protocol):
    name: str
    """The durable consumer's name, one per worker kind (e.g. "indexer")."""
    event_types: frozenset[str]
    """`Event.TYPE` values handled; other events are settled without a call."""
    batch_size: int

    def wants(self, event: Event) -> bool:
        """Whether an event of a handled type may need work. Embedded, only those are queued
        for the handler; it must still re-check, since any event may come from elsewhere."""
        ...

    async def handle(self, events: Sequence[Event]) -> None:
        """Do the work for a batch, idempotently: any event may come again, and events of
        one entity may come out of order across processes. Raise Unavailable to have the
        batch retried later; any other exception makes the runner retry the events one by
        one and park those that still fail."""
        ...
