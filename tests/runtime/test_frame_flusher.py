"""The flusher behind live delivery: a long flush makes the next one wait, so frames of
events that arrive meanwhile go out together (one write per socket for several events)."""

from __future__ import annotations

import asyncio
import time

from gochat.subscriptions.wire import Flusher


class _Wire:
    """What the flusher touches of a DirectWire: `_waiter` and `_write`."""

    def __init__(self, *, blocks_for: float = 0.0) -> None:
        self._waiter = None
        self.blocks_for = blocks_for
        self.queued = 0
        self.writes: list[int] = []

    def queue(self, flusher: Flusher) -> None:
        self.queued += 1
        if self.queued == 1:
            flusher.add(self)  # type: ignore[arg-type]

    def _write(self) -> None:
        if self.blocks_for:
            time.sleep(self.blocks_for)  # a slow kernel send, as a thousand sockets cost
        self.writes.append(self.queued)
        self.queued = 0


async def _iterations(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def _until(condition: object) -> None:
    async with asyncio.timeout(30):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


async def test_after_a_long_flush_frames_of_later_events_wait_and_go_out_together() -> None:
    flusher = Flusher(hold_from_seconds=0.01, hold_factor=1, max_hold_seconds=30)
    slow, socket = _Wire(blocks_for=0.3), _Wire()
    slow.queue(flusher)
    await _until(lambda: slow.writes)
    # Two events for one socket right after the 0.3 s flush: held, then written at once.
    socket.queue(flusher)
    await _iterations(5)
    socket.queue(flusher)
    await _iterations(5)
    assert socket.writes == []
    await _until(lambda: socket.writes)
    assert socket.writes == [2]


async def test_a_short_flush_holds_nothing() -> None:
    flusher = Flusher(hold_from_seconds=10, max_hold_seconds=30)
    socket = _Wire()
    for _ in range(3):
        socket.queue(flusher)
        await _iterations(2)
    assert socket.writes == [1, 1, 1]


async def test_the_hold_is_bounded() -> None:
    flusher = Flusher(hold_from_seconds=0.01, max_hold_seconds=0)
    slow, socket = _Wire(blocks_for=0.3), _Wire()
    slow.queue(flusher)
    await _until(lambda: slow.writes)
    socket.queue(flusher)
    await _iterations(3)
    assert socket.writes == [1]
