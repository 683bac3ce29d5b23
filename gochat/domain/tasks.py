"""Background tasks: work that must not hold up a request (a data export, removing a banned
member's messages) is written down as a task row first, then handed to this process's runner
after the commit. The row is what makes it durable: a runner that starts picks up every task
not finished yet, so a crash delays the work and never loses it. Task handlers re-check the
present and are idempotent, since a task may run again after a crash mid-way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from gochat.domain.records import BackgroundTask
from gochat.errors import RateLimited
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.storage import TaskStore

TaskListener = Callable[[BackgroundTask], None]
TaskHandler = Callable[[BackgroundTask], Awaitable[None]]


class TaskQueue:
    def __init__(self, store: TaskStore, ids: SnowflakeGenerator) -> None:
        self._store = store
        self._ids = ids
        self._listeners: list[TaskListener] = []

    def add_listener(self, listener: TaskListener) -> None:
        """Called with each task once it is stored (the runner's `offer`)."""
        self._listeners.append(listener)

    def new(
        self, kind: str, *, user_id: Snowflake, guild_id: Snowflake | None, params: dict[str, Any]
    ) -> BackgroundTask:
        return BackgroundTask(
            id=self._ids.next_id(),
            kind=kind,
            user_id=user_id,
            guild_id=guild_id,
            params=params,
            created_at=datetime.now(UTC),
        )

    async def add(self, task: BackgroundTask, *, notify: bool = True) -> None:
        """Store the task; hand it to the runner at once unless `notify` is False (the caller
        does, with `queued`, once the change the task depends on is committed)."""
        await self._store.add(task)
        if notify:
            self.queued(task)

    async def add_export(self, task: BackgroundTask, *, every_seconds: int) -> None:
        """Store a data-export task unless the user asked for one in the last `every_seconds`
        (RateLimited, saying when the next may be asked for)."""
        cutoff = datetime.fromtimestamp(task.created_at.timestamp() - every_seconds, tz=UTC)
        previous = await self._store.add_export(task, cutoff=cutoff)
        if previous is not None:
            next_at = previous.timestamp() + every_seconds
            raise RateLimited(
                "one data export a day: the next may be asked for at "
                f"{datetime.fromtimestamp(next_at, tz=UTC).isoformat(timespec='seconds')}",
                retry_after=max(next_at - task.created_at.timestamp(), 1.0),
            )
        self.queued(task)

    def queued(self, task: BackgroundTask) -> None:
        for listener in self._listeners:
            listener(task)
