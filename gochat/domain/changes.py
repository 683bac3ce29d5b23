"""What every guild-area service needs to make a change: ids, the guild store, standing checks,
event sealing, audit entries and publication after commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from gochat.bus import Envelope, subjects
from gochat.bus.codec import seal
from gochat.domain.clock import Clock
from gochat.domain.events import Event
from gochat.domain.guild_access import GuildAccess
from gochat.domain.publisher import EventPublisher
from gochat.domain.records import AuditEntry
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.storage import GuildStore

T = TypeVar("T")


@dataclass
class Pending:
    """Envelopes collected while the store runs the transaction, published after commit."""

    envelopes: list[Envelope]

    def __init__(self) -> None:
        self.envelopes = []


class ChangeKit:
    def __init__(
        self,
        *,
        store: GuildStore,
        access: GuildAccess,
        ids: SnowflakeGenerator,
        publisher: EventPublisher,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.access = access
        self.ids = ids
        self.publisher = publisher
        self.clock = clock or Clock()

    def now(self) -> datetime:
        return self.clock.now()

    def events(
        self,
        pending: Pending,
        make: Callable[[T, Snowflake], Sequence[tuple[Event, Sequence[str]]]],
    ) -> Callable[[T], Sequence[Envelope]]:
        """An `events` callback for a store method: `make(result, new_event_id)` names the
        events and their subjects; the envelopes are also kept for publishing after commit."""

        def build(result: T) -> Sequence[Envelope]:
            for event, subject_list in make(result, self.ids.next_id()):
                pending.envelopes.extend(seal(event, *subject_list))
            return pending.envelopes

        return build

    def guild_events(
        self, pending: Pending, guild_id: Snowflake, make: Callable[[T, Snowflake], Event]
    ) -> Callable[[T], Sequence[Envelope]]:
        """One event on the guild's subject."""
        return self.events(pending, lambda r, eid: [(make(r, eid), [subjects.guild(guild_id)])])

    def audit(
        self,
        *,
        guild_id: Snowflake,
        actor_id: Snowflake,
        action: str,
        target_type: str,
        target_id: Callable[[T], Snowflake | None] | Snowflake | None,
        changes: Callable[[T], dict[str, Any]] | dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> Callable[[T], Sequence[AuditEntry]]:
        def build(result: T) -> Sequence[AuditEntry]:
            return [
                AuditEntry(
                    id=self.ids.next_id(),
                    guild_id=guild_id,
                    actor_id=actor_id,
                    action=action,
                    target_type=target_type,
                    target_id=target_id(result) if callable(target_id) else target_id,
                    changes=(changes(result) if callable(changes) else changes) or {},
                    reason=reason,
                    created_at=self.now(),
                )
            ]

        return build

    async def publish(self, pending: Pending, *, sent: Callable[[], None] | None = None) -> None:
        await self.publisher.publish(pending.envelopes, sent=sent)
