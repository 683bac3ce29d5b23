"""Feeds an EventHandler (gochat/workers/runner.py) in this process, right after the changes
it follows have committed: the publisher hands over each batch of events, and one task passes
them to the handler in batches of its size, retrying with backoff while it raises Unavailable.

Not durable: events queued when the process stops, or dropped while the queue is full, are
not handed over again (`gochat search reindex` rebuilds the index from the message store).
The worker runner's durable sources take over from this feed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog

from gochat.bus import Envelope
from gochat.bus.codec import decode, event_type
from gochat.domain.events import Event
from gochat.errors import Unavailable
from gochat.workers.runner import EventHandler

log = structlog.get_logger("gochat.workers")

# While the handler's engine is unreachable the batch waits and is tried again, for as long as
# the outage lasts (later events queue behind it, up to the queue's bound).
RETRY_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class AfterCommitFeed:
    def __init__(self, handler: EventHandler, *, max_queue: int = 10_000) -> None:
        self._handler = handler
        self._queue: asyncio.Queue[Event] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def on_published(self, envelopes: Sequence[Envelope]) -> None:
        seen: set[int] = set()
        for envelope in envelopes:
            # One event goes out once per subject it is published on.
            if envelope.event_id in seen:
                continue
            seen.add(envelope.event_id)
            if event_type(envelope.payload) not in self._handler.event_types:
                continue
            try:
                self._queue.put_nowait(decode(envelope.payload))
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("worker.feed_full", worker=self._handler.name)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"gochat-{self._handler.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._handler.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._handle(batch)

    async def _handle(self, batch: list[Event]) -> None:
        attempt = 0
        while True:
            try:
                await self._handler.handle(batch)
                return
            except Unavailable as exc:
                delay = RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS) - 1)]
                attempt += 1
                log.info("worker.retry", worker=self._handler.name, delay=delay, reason=exc.message)
                await asyncio.sleep(delay)
            except Exception:  # one bad batch must not stop the worker
                log.exception("worker.batch_failed", worker=self._handler.name, count=len(batch))
                return
