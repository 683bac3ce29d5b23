"""uvicorn's sans-I/O WebSocket protocol, holding less for each idle connection.

Ten thousand idle sockets are ten thousand of uvicorn's protocol objects (0.54, pinned), and
most of what one holds is there for moments that rarely come: an `asyncio.Queue` for the
messages the app has not read yet and an `asyncio.Event` for back-pressure own five deques
between them, each with its 64-slot block (about 3.8 KB a socket, empty); and websockets' parser
keeps the upgrade request in its generator's frame for the connection's lifetime, with every
header (about 2 KB); and its keep-alive is a timer per connection (a ping every 20 s, then a
pong deadline), about 680 bytes each on uvloop. This subclass replaces the queue and the event
with equivalents that allocate only while something waits or is queued, empties the request's
headers once the handshake has read them, and puts every connection's next ping or pong
deadline on one `KeepaliveWheel` per event loop, by the second (a ping is due 20-21 s after
the last pong instead of 20 s). `gochat serve` and the tests' servers run it
(`websocket_options`).
"""

from __future__ import annotations

import asyncio
import math
import random
import struct
from typing import Any, Literal

import structlog
from uvicorn._types import ASGIReceiveEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame
from websockets.http11 import Request

log = structlog.get_logger("gochat.ws")


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


class KeepaliveWheel:
    """The connections of one event loop by the second in which their next keep-alive step
    is due (a ping, or the deadline for its pong), run by one timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._slots: dict[int, set[LeanWebSocketProtocol]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, protocol: LeanWebSocketProtocol, delay: float) -> None:
        """Make `protocol`'s next step due `delay` seconds from now (rounded up to the second),
        in place of the one it had."""
        self.discard(protocol)
        slot = math.ceil(self._loop.time() + max(delay, 0.0))
        members = self._slots.get(slot)
        if members is None:
            members = self._slots[slot] = set()
        members.add(protocol)
        protocol.keepalive_slot = slot
        if self._timer is None or slot < self._timer.when():
            self._schedule()

    def discard(self, protocol: LeanWebSocketProtocol) -> None:
        slot = protocol.keepalive_slot
        if slot is None:
            return
        protocol.keepalive_slot = None
        members = self._slots.get(slot)
        if members is not None:
            members.discard(protocol)
            if not members:
                del self._slots[slot]
                if not self._slots:
                    self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._slots:
            self._timer = self._loop.call_at(min(self._slots), self._run)
        elif _WHEELS.get(self._loop) is self:
            del _WHEELS[self._loop]  # nothing left to keep alive: let the loop go

    def _run(self) -> None:
        self._timer = None
        now = self._loop.time()
        for slot in sorted(slot for slot in self._slots if slot <= now):
            for protocol in self._slots.pop(slot, ()):
                if protocol.keepalive_slot != slot:
                    continue  # it left, or moved, meanwhile
                protocol.keepalive_slot = None
                try:
                    protocol.keepalive_due()
                except Exception:  # as the loop treats a failing timer: reported, alone
                    log.exception("ws.keepalive_failed")
        self._schedule()


_WHEELS: dict[asyncio.AbstractEventLoop, KeepaliveWheel] = {}


def keepalive_wheel(loop: asyncio.AbstractEventLoop) -> KeepaliveWheel:
    wheel = _WHEELS.get(loop)
    if wheel is None:
        wheel = _WHEELS[loop] = KeepaliveWheel(loop)
    return wheel


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol with the lighter queue and flag above, and its
    keep-alive on the loop's `KeepaliveWheel` instead of a timer of its own. What the
    keep-alive does is uvicorn's: a ping every `ws_ping_interval` (less the last round trip),
    a close with 1011 when its pong has not come `ws_ping_timeout` after it."""

    keepalive_slot: int | None = None  # where it is on the wheel

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

    # --- keep-alive: uvicorn's steps, with the wheel in place of its timers ------------------

    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        keepalive_wheel(self.loop).add(self, self.ping_interval - self.last_ping_rtt)

    def stop_keepalive(self) -> None:
        keepalive_wheel(self.loop).discard(self)
        super().stop_keepalive()

    def keepalive_due(self) -> None:
        if self.pending_ping_payload is not None and self.ping_timeout is not None:
            self.keepalive_timeout()
        else:
            self.send_keepalive_ping()

    def send_keepalive_ping(self) -> None:
        if self.close_sent or self.transport.is_closing():
            return
        # A random payload identifies this ping, so that a stale pong is not taken for its.
        self.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(self.pending_ping_payload)
        self.transport.write(b"".join(self.conn.data_to_send()))
        if self.ping_timeout is not None:
            keepalive_wheel(self.loop).add(self, self.ping_timeout)
        else:
            self.schedule_ping()

    def handle_pong(self, event: Frame) -> None:
        if self.pending_ping_payload is None or bytes(event.data) != self.pending_ping_payload:
            return
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        self.pending_ping_payload = None
        if self.ping_timeout is not None:
            # The pong deadline is replaced by the next ping; without a deadline the next
            # ping was scheduled when this one was sent.
            self.schedule_ping()
