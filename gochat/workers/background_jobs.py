"""Runs background jobs (gochat/domain/jobs.py) in this process: one handler per job kind,
fed after commit by the job queue and, at start, by every job not finished yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import structlog

from gochat.domain.jobs import JobHandler
from gochat.domain.records import BackgroundJob
from gochat.storage import JobStore

log = structlog.get_logger("gochat.workers")


class BackgroundJobHandler:
    name = "background-jobs"

    def __init__(self, store: JobStore, handlers: Mapping[str, JobHandler]) -> None:
        self._store = store
        self._handlers = handlers

    async def handle(self, item: BackgroundJob) -> None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            # A kind a newer version queued: leave it for a process that knows it.
            log.warning("job.unknown_kind", kind=item.kind, job_id=item.id)
            return
        await handler(item)
        await self._store.finish(item.id, now=datetime.now(UTC))

    async def backlog(self, limit: int) -> Sequence[BackgroundJob]:
        return [j for j in await self._store.unfinished(limit) if j.kind in self._handlers]
