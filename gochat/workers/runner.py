"""The worker runner's contract: what a handler of domain events provides.

A handler is a module-level class with no loop of its own; the runner feeds it batches of the
event types it names, from a durable source (a JetStream pull consumer at scale, shared by
every process of the same worker kind; the relational store's job table embedded), acks a
batch only after `handle` returned, retries with backoff on Unavailable, and parks an event
that keeps failing otherwise where `gochat tools jobs` shows and replays it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gochat.domain.events import Event


class EventHandler(Protocol):
    name: str
    """The durable consumer's name, one per worker kind (e.g. "indexer")."""
    event_types: frozenset[str]
    """`Event.TYPE` values handled; other events are acknowledged without a call."""
    batch_size: int

    async def handle(self, events: Sequence[Event]) -> None:
        """Do the work for a batch, idempotently: any event may come again, and events of
        one entity may come out of order across processes. Raise Unavailable to have the
        batch retried later; any other exception makes the runner retry the events one by
        one and park those that still fail."""
        ...
