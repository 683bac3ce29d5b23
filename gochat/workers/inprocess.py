"""The in-process runner of command tasks (data exports, ban purges: gochat/domain/tasks.py):
a bounded queue of work items and one asyncio task that handles them. The tasks' rows are the
durable record; event-driven workers (media, indexers) use the job runner in `runner.py`.

Items are fed after commit (`offer`); a full queue drops the item, which the handler's catch-up
scan (`backlog`, run at start and whenever the queue was full) finds again, because the state
it works from is durable. A retryable failure (the blob store or database unreachable) is
retried with backoff; the handler itself records a permanent failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import structlog

from gochat.errors import Unavailable
from gochat.tasks import stop_task

log = structlog.get_logger("gochat.workers")

T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R")
RETRY_DELAYS_SECONDS = (0.5, 2.0, 10.0, 30.0)


class Handler(Protocol[T]):
    name: str

    async def handle(self, item: T) -> None:
        """Do the work for one item, idempotently (re-check the present first)."""
        ...

    async def backlog(self, limit: int) -> Sequence[T]:
        """Items whose work is not done yet, from durable state."""
        ...


class InProcessRunner(Generic[T]):
    def __init__(self, handler: Handler[T], *, max_queue: int = 1000) -> None:
        self._handler = handler
        self._queue: asyncio.Queue[T] = asyncio.Queue(max_queue)
        self._max_queue = max_queue
        self._overflowed = False
        self._task: asyncio.Task[None] | None = None

    def offer(self, items: Sequence[T]) -> None:
        for item in items:
            try:
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                self._overflowed = True
                log.warning("worker.queue_full", worker=self._handler.name)
                return

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"gochat-{self._handler.name}")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def _catch_up(self) -> None:
        for item in await self._retrying(self._handler.backlog, self._max_queue):
            self.offer([item])

    async def _run(self) -> None:
        await self._catch_up()
        while True:
            item = await self._queue.get()
            try:
                await self._retrying(self._handler.handle, item)
            except Exception:  # one bad item must not stop the worker
                log.exception("worker.item_failed", worker=self._handler.name)
            if self._overflowed and self._queue.empty():
                self._overflowed = False
                await self._catch_up()

    async def _retrying(self, call: Callable[[A], Awaitable[R]], arg: A) -> R:
        attempt = 0
        while True:
            try:
                return await call(arg)
            except Unavailable:
                if attempt >= len(RETRY_DELAYS_SECONDS):
                    raise
                delay = RETRY_DELAYS_SECONDS[attempt]
                attempt += 1
                log.info("worker.retry", worker=self._handler.name, delay=delay)
                await asyncio.sleep(delay)
