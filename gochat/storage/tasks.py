"""The background tasks port: work queued off the request path, kept until done."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gochat.domain.records import BackgroundTask
from gochat.ids import Snowflake


class TaskStore(Protocol):
    async def add(self, task: BackgroundTask) -> None:
        """Store a task; durable on return."""

    async def add_export(self, task: BackgroundTask, *, cutoff: datetime) -> datetime | None:
        """Record the user's data-export request and its task at once, unless their previous
        request was made after `cutoff`: then store nothing and return that request's time.
        Concurrent requests record at most one."""

    async def unfinished(self, limit: int) -> list[BackgroundTask]:
        """Tasks not finished yet, oldest first."""

    async def finish(self, task_id: Snowflake, *, now: datetime) -> None:
        """Mark the task done; a finished task is never returned by `unfinished` again."""
