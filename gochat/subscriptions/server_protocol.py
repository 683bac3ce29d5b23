"""uvicorn's sans-I/O WebSocket protocol, holding less for each idle connection.

Ten thousand idle sockets are ten thousand of uvicorn's protocol objects (0.54, pinned), and
most of what one holds is there for moments that rarely come: an `asyncio.Queue` for the
messages the app has not read yet and an `asyncio.Event` for back-pressure own five deques
between them, each with its 64-slot block (about 3.8 KB a socket, empty); and websockets' parser
keeps the upgrade request in its generator's frame for the connection's lifetime, with every
header (about 2 KB). This subclass replaces the queue and the event with equivalents that
allocate only while something waits or is queued, and empties the request's headers once the
handshake has read them. `gochat serve` and the tests' servers run it (`websocket_options`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from uvicorn._types import ASGIReceiveEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request


def _wake_first(waiters: list[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return


class ReceiveQueue(asyncio.Queue[ASGIReceiveEvent]):
    """The messages the app has not received yet: `asyncio.Queue`'s `put_nowait`, `get`,
    `get_nowait`, `empty` and `qsize` (what uvicorn uses), unbounded as uvicorn's is, with a
    list only while messages wait and one while getters wait."""

    def __init__(self) -> None:  # no super().__init__(): its deques are what this saves
        self._items: list[ASGIReceiveEvent] | None = None
        self._getters: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        return f"<ReceiveQueue qsize={self.qsize()}>"

    def empty(self) -> bool:
        return self._items is None

    def qsize(self) -> int:
        return 0 if self._items is None else len(self._items)

    def full(self) -> bool:
        return False

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        if self._getters:
            _wake_first(self._getters)

    async def put(self, item: ASGIReceiveEvent) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> ASGIReceiveEvent:
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items.pop(0)
        if not items:
            self._items = None
        return item

    async def get(self) -> ASGIReceiveEvent:
        # asyncio.Queue.get, including its hand-over when a woken getter is cancelled.
        while self._items is None:
            getter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            getters = self._getters
            getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if getter in getters:
                    getters.remove(getter)
                if self._items is not None and not getter.cancelled():
                    _wake_first(getters)
                raise
            finally:
                if not getters and self._getters is getters:
                    self._getters = None
        return self.get_nowait()

    def task_done(self) -> None:
        raise NotImplementedError("uvicorn does not join its receive queue")

    async def join(self) -> None:
        raise NotImplementedError("uvicorn does not join its receive queue")


class WritableFlag(asyncio.Event):
    """`asyncio.Event` (set, clear, is_set, wait) with a list of waiters only while some wait:
    a transport is paused only while its client does not read."""

    def __init__(self) -> None:  # no super().__init__(): its deque is what this saves
        self._value = False
        self._flag_waiters: list[asyncio.Future[None]] | None = None

    def __repr__(self) -> str:
        return f"<WritableFlag {'set' if self._value else 'unset'}>"

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._flag_waiters = self._flag_waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> Literal[True]:
        if self._value:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._flag_waiters is None:
            self._flag_waiters = []
        waiters = self._flag_waiters
        waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters and self._flag_waiters is waiters:
                self._flag_waiters = None


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol with the lighter queue and flag above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = ReceiveQueue()
        writable = WritableFlag()
        writable.set()
        self.writable = writable

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope has its own copy of the headers, and the response is built: nothing reads
        # the request's headers again, but websockets' parser keeps the request for good.
        event.headers.clear()
