"""Runs background tasks (gochat/domain/tasks.py) in this process: one handler per task kind,
fed after commit by the task queue and, at start, by every task not finished yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import structlog

from gochat.domain.records import BackgroundTask
from gochat.domain.tasks import TaskHandler
from gochat.storage import TaskStore

log = structlog.get_logger("gochat.workers")


class BackgroundTaskHandler:
    name = "background-tasks"

    def __init__(self, store: TaskStore, handlers: Mapping[str, TaskHandler]) -> None:
        self._store = store
        self._handlers = handlers

    async def handle(self, item: BackgroundTask) -> None:
        handler = self._handlers.get(item.kind)
        if handler is None:
            # A kind a newer version queued: leave it for a process that knows it.
            log.warning("task.unknown_kind", kind=item.kind, task_id=item.id)
            return
        await handler(item)
        await self._store.finish(item.id, now=datetime.now(UTC))

    async def backlog(self, limit: int) -> Sequence[BackgroundTask]:
        return [j for j in await self._store.unfinished(limit) if j.kind in self._handlers]
