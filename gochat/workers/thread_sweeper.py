"""The in-process thread sweeper: archives threads left without a message for their
auto-archive delay (gochat/domain/threads.py), every interval. Each process runs one; two passes
racing may archive a thread twice, which publishes one more ThreadUpdated and changes nothing."""

from __future__ import annotations

import asyncio

import structlog

from gochat.domain.threads import ThreadService
from gochat.errors import Unavailable
from gochat.tasks import stop_task

log = structlog.get_logger("gochat.workers.threads")


class ThreadSweeper:
    def __init__(self, threads: ThreadService, *, interval_seconds: float) -> None:
        self._threads = threads
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gochat-thread-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                archived = await self._threads.archive_inactive()
                if archived:
                    log.info("threads.archived", count=archived)
            except Unavailable:
                log.info("threads.sweep_deferred")
            except Exception:  # the next pass tries again
                log.exception("threads.sweep_failed")
