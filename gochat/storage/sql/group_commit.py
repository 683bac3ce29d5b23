"""Group commit: concurrent writes of one kind share transactions, each keeping its outcome.

A write that arrives while no more than `max_in_flight` transactions run starts one at once, so
a lone write waits for nothing; writes that arrive meanwhile queue and go together in the next
transaction (up to `max_batch`). Each caller returns only once its transaction committed, so a
write is durable when acknowledged, exactly as with one transaction per write.

A batch the database refuses as a whole (one member's text it cannot store, say) is retried one
member at a time, so only the member at fault fails: no request can fail another's. The run
function must raise only when nothing of the batch was written (one transaction, or one
statement), and report each member's own outcome through its `done` future otherwise.
Unavailable is not retried: the database is down or saturated for every member alike.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from gochat.errors import Unavailable


class Pending(Protocol):
    """One queued write; its outcome is set on `done`."""

    @property
    def done(self) -> asyncio.Future[Any]: ...


ItemT = TypeVar("ItemT", bound=Pending)


class GroupCommit(Generic[ItemT]):
    def __init__(
        self,
        run: Callable[[list[ItemT]], Awaitable[None]],
        *,
        max_batch: int = 128,
        max_in_flight: int = 2,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queue: list[ItemT] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: ItemT) -> Any:
        self._queue.append(item)
        if len(self._tasks) < self._max_in_flight:
            # Its own context: a batch commits for several callers, not only the first one.
            task = asyncio.create_task(self._drain(), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # A caller that goes away (client disconnect) must not cancel a write that others
        # share; it simply stops waiting for the outcome.
        return await asyncio.shield(item.done)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                await self._run(batch)
            except Exception as exc:  # noqa: BLE001 - each failure goes to its callers
                if len(batch) == 1 or isinstance(exc, Unavailable):
                    _fail(batch, exc)
                else:
                    await self._one_by_one(batch)
            except BaseException as exc:
                _fail(batch, exc)
                raise

    async def _one_by_one(self, batch: list[ItemT]) -> None:
        for item in batch:
            if item.done.done():
                continue
            try:
                await self._run([item])
            except Exception as exc:  # noqa: BLE001 - the member's own outcome
                _fail([item], exc)
            except BaseException as exc:
                _fail(batch, exc)
                raise


def _fail(batch: list[ItemT], exc: BaseException) -> None:
    for item in batch:
        if not item.done.done():
            item.done.set_exception(exc)
