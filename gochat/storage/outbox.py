"""The outbox port: events written with state changes, until the relay publishes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gochat.bus import Envelope


class OutboxStore(Protocol):
    async def mark_published(self, envelopes: Sequence[Envelope]) -> None:
        """Forget outbox rows whose envelopes reached the bus."""

    async def pending(self, *, older_than: datetime, limit: int) -> list[Envelope]:
        """Outbox rows not yet confirmed, oldest first, for the relay to republish."""
