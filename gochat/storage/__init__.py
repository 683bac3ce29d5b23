"""Storage ports: what the domain may ask of persistent state, with written contracts.

The SQL adapter (`storage.sql`) serves SQLite and PostgreSQL with one code path; the message
store gains a CQL adapter later. Every state-changing method is atomic, and takes an `events`
callback whose envelopes are written to the outbox in the same transaction, so an event is never
lost between the write and its publication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gochat.storage.accounts import AccountStore
from gochat.storage.direct import DirectStore
from gochat.storage.events import AuditOf, EventsOf, no_events
from gochat.storage.files import FileStore
from gochat.storage.guilds import GuildAccessData, GuildStore, InviteAcceptance, OpenThread
from gochat.storage.jobs import JobStore
from gochat.storage.messages import MessageStore
from gochat.storage.outbox import OutboxStore
from gochat.storage.sessions import SessionStore
from gochat.storage.tasks import TaskStore

__all__ = [
    "AccountStore",
    "AuditOf",
    "DirectStore",
    "EventsOf",
    "FileStore",
    "GuildAccessData",
    "GuildStore",
    "InviteAcceptance",
    "JobStore",
    "MessageStore",
    "OpenThread",
    "OutboxStore",
    "PoolFigures",
    "RelationalStore",
    "SessionStore",
    "TaskStore",
    "no_events",
]


@dataclass(frozen=True, slots=True)
class PoolFigures:
    """One connection pool, for /metrics."""

    role: str
    in_use: int
    overflow: int  # connections beyond its size
    waits: int  # checkouts that found no idle connection
    wait_seconds: float  # the time those took to get one


class RelationalStore(Protocol):
    @property
    def accounts(self) -> AccountStore: ...

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def guilds(self) -> GuildStore: ...

    @property
    def messages(self) -> MessageStore: ...

    @property
    def direct(self) -> DirectStore: ...

    @property
    def files(self) -> FileStore: ...

    @property
    def jobs(self) -> JobStore: ...

    @property
    def tasks(self) -> TaskStore: ...

    def pool_figures(self) -> list[PoolFigures]:
        """Each connection pool's figures."""

    async def ping(self) -> None:
        """Raise Unavailable unless the database answers."""

    async def close(self) -> None: ...
