"""Stopping a background task for certain.

On Python 3.11 a cancellation can be lost: `asyncio.wait_for` returns the inner result, or
raises TimeoutError, when the cancel lands in the same loop iteration as the result or the
timeout. nats-py's `next_msg` awaits `wait_for` in a task of its own, so a worker cancelled
while fetching could carry on fetching, and the process waiting for it never exited. Cancelling
again until the task ends closes that window whatever library the task is in. Not at once:
a task may be cleaning up after the first cancellation (an SFU withdrawing its registration
under `asyncio.shield`), which a second one would cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

RECANCEL_SECONDS = 5.0


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has ended; an exception it ended with is raised here."""
    if task is None or task is asyncio.current_task():
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Stop every task (each is cancelled before any is waited for); the first exception one
    of them ended with is raised once all have ended."""
    pending = [task for task in tasks if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    failure: BaseException | None = None
    for task in pending:
        try:
            await stop_task(task)
        except Exception as exc:  # noqa: BLE001 - raised below, after the others stopped
            failure = failure or exc
    if failure is not None:
        raise failure
