"""Background jobs: work that must not hold up a request (a data export, removing a banned
member's messages) is written down as a job row first, then handed to this process's runner
after the commit. The row is what makes it durable: a runner that starts picks up every job
not finished yet, so a crash delays the work and never loses it. Job handlers re-check the
present and are idempotent, since a job may run again after a crash mid-way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from gochat.domain.records import BackgroundJob
from gochat.errors import RateLimited
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.storage import JobStore

JobListener = Callable[[BackgroundJob], None]
JobHandler = Callable[[BackgroundJob], Awaitable[None]]


class JobQueue:
    def __init__(self, store: JobStore, ids: SnowflakeGenerator) -> None:
        self._store = store
        self._ids = ids
        self._listeners: list[JobListener] = []

    def add_listener(self, listener: JobListener) -> None:
        """Called with each job once it is stored (the runner's `offer`)."""
        self._listeners.append(listener)

    def new(
        self, kind: str, *, user_id: Snowflake, guild_id: Snowflake | None, params: dict[str, Any]
    ) -> BackgroundJob:
        return BackgroundJob(
            id=self._ids.next_id(),
            kind=kind,
            user_id=user_id,
            guild_id=guild_id,
            params=params,
            created_at=datetime.now(UTC),
        )

    async def add(self, job: BackgroundJob, *, notify: bool = True) -> None:
        """Store the job; hand it to the runner at once unless `notify` is False (the caller
        does, with `queued`, once the change the job depends on is committed)."""
        await self._store.add(job)
        if notify:
            self.queued(job)

    async def add_export(self, job: BackgroundJob, *, every_seconds: int) -> None:
        """Store a data-export job unless the user asked for one in the last `every_seconds`
        (RateLimited, saying when the next may be asked for)."""
        cutoff = datetime.fromtimestamp(job.created_at.timestamp() - every_seconds, tz=UTC)
        previous = await self._store.add_export(job, cutoff=cutoff)
        if previous is not None:
            next_at = previous.timestamp() + every_seconds
            raise RateLimited(
                "one data export a day: the next may be asked for at "
                f"{datetime.fromtimestamp(next_at, tz=UTC).isoformat(timespec='seconds')}",
                retry_after=max(next_at - job.created_at.timestamp(), 1.0),
            )
        self.queued(job)

    def queued(self, job: BackgroundJob) -> None:
        for listener in self._listeners:
            listener(job)
