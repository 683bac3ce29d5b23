"""The background jobs port: work queued off the request path, kept until done."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gochat.domain.records import BackgroundJob
from gochat.ids import Snowflake


class JobStore(Protocol):
    async def add(self, job: BackgroundJob) -> None:
        """Store a job; durable on return."""

    async def add_export(self, job: BackgroundJob, *, cutoff: datetime) -> datetime | None:
        """Record the user's data-export request and its job at once, unless their previous
        request was made after `cutoff`: then store nothing and return that request's time.
        Concurrent requests record at most one."""

    async def unfinished(self, limit: int) -> list[BackgroundJob]:
        """Jobs not finished yet, oldest first."""

    async def finish(self, job_id: Snowflake, *, now: datetime) -> None:
        """Mark the job done; a finished job is never returned by `unfinished` again."""
