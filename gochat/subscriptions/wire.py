"""Writing frames to a WebSocket without a task per socket.

Every `send` through ASGI is a coroutine, so writing to a thousand sockets costs a thousand
task wake-ups plus the Starlette and uvicorn layers around each frame. When the server is
uvicorn with its sans-I/O websockets protocol (what `gochat serve` and the tests run), the
protocol object is reachable through the ASGI `receive` callable: frames are written to its
transport without a coroutine, all of a socket's frames of one event-loop iteration in one
write, and are held (bounded) only while the transport is paused. With any other server, or
with permessage-deflate, frames take the ASGI path through a writer task instead.

An event's `next` payload is the same for every socket of a document group; only the operation
id in front of it differs. `Payload` encodes it once and keeps the finished WebSocket frame per
distinct prefix, so a thousand sockets subscribed with the same id share one frame.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# Clients mostly number their operations alike ("1", "2", ...): a few prefixes cover most
# sockets, and a payload sent under many distinct ids should not hold a frame for each.
_MAX_FRAMES_PER_PAYLOAD = 16

# A socket with this many frames queued in one iteration writes them without waiting for its end.
_FLUSH_AT = 64


def text_frame(data: bytes) -> bytes:
    """A final, unmasked (server-to-client) text frame, as RFC 6455 section 5.2 lays it out."""
    length = len(data)
    if length < 126:
        return bytes((0x81, length)) + data
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length) + data
    return struct.pack("!BBQ", 0x81, 127, length) + data


class Payload:
    """One serialized `payload` object, shared by every operation it is sent to."""

    __slots__ = ("_body", "_frames", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._body: bytes | None = None
        self._frames: dict[bytes, bytes] = {}

    def message(self, prefix: str) -> str:
        """The whole protocol message: `prefix` (id and type) + payload + "}"."""
        return prefix + self.text + "}"

    def frame(self, prefix: bytes) -> bytes:
        """The same message as a finished WebSocket frame."""
        found = self._frames.get(prefix)
        if found is None:
            if self._body is None:
                self._body = self.text.encode()
            found = text_frame(prefix + self._body + b"}")
            if len(self._frames) < _MAX_FRAMES_PER_PAYLOAD:
                self._frames[prefix] = found
        return found


class Flusher:
    """Writes each wire's queued frames once per event-loop iteration: a socket that gets
    several frames while the hub works through a burst of events costs one system call.

    A flush that took long (a thousand sockets take milliseconds, nearly all of it in the
    kernel's loopback or TCP send) makes the next one wait `hold_factor` times as long, at most
    `max_hold_seconds`: events that arrive meanwhile join the frames already queued, so under
    load each socket gets several frames per system call instead of one each, and the write
    work stops growing with the event rate. A short flush (a quiet server, a few sockets)
    holds nothing."""

    __slots__ = ("_dirty", "_factor", "_hold_from", "_max_hold", "_next_at", "_scheduled")

    def __init__(
        self,
        *,
        hold_from_seconds: float = 0.001,
        hold_factor: float = 4.0,
        max_hold_seconds: float = 0.010,
    ) -> None:
        self._dirty: list[DirectWire] = []
        self._scheduled = False
        self._hold_from = hold_from_seconds
        self._factor = hold_factor
        self._max_hold = max_hold_seconds
        self._next_at = 0.0

    def add(self, wire: DirectWire) -> None:
        self._dirty.append(wire)
        if not self._scheduled:
            self._scheduled = True
            loop = asyncio.get_running_loop()
            wait = self._next_at - loop.time()
            if wait > 0:
                loop.call_later(wait, self._flush)
            else:
                loop.call_soon(self._flush)

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        self._scheduled = False
        clock = asyncio.get_running_loop().time
        started = clock()
        for wire in dirty:
            if wire._waiter is None:  # else its writer task writes once the client reads
                wire._write()
        ended = clock()
        took = ended - started
        if took >= self._hold_from:
            self._next_at = ended + min(took * self._factor, self._max_hold)
        else:
            self._next_at = 0.0


class DirectWire:
    """Frames for a uvicorn sans-I/O WebSocket connection, written to its transport at the end
    of the loop iteration, or once it is writable again under back-pressure."""

    __slots__ = ("_flusher", "_pending", "_protocol", "_waiter")

    def __init__(self, protocol: Any, flusher: Flusher) -> None:
        self._protocol = protocol
        self._flusher = flusher
        self._pending: list[bytes] = []
        self._waiter: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, receive: Any, flusher: Flusher) -> DirectWire | None:
        """The direct wire behind an ASGI `receive` callable, when there is one."""
        protocol = getattr(receive, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.conn.extensions:
            return None  # frames through an extension (permessage-deflate) need websockets
        return cls(protocol, flusher)

    def release_handshake(self) -> None:
        """Drop the parsed upgrade request and the 101 response, which uvicorn (0.54, pinned)
        keeps for the connection's lifetime but never reads after the accept: about 4 KB of
        header objects per idle socket. The ASGI scope keeps its own copy of the headers.

        uvicorn's protocol also sets more attributes than an instance dict shares with its
        class (30), so its dict has a table of its own, sized for growth (1.6 KB); once the
        handshake is done no attribute is added, and a copy holds the same in about half."""
        protocol = self._protocol
        if protocol.handshake_complete:
            for name in ("request", "response"):
                if name in vars(protocol):
                    delattr(protocol, name)
            protocol.__dict__ = dict(vars(protocol))

    def send(self, frame: bytes, *, limit: int) -> bool:
        """Queue a finished frame; False (and nothing queued) when `limit` frames are waiting
        already for a paused transport, that is for a client that does not read. Data frames
        change nothing in the connection's websockets state, so it needs no update."""
        pending = self._pending
        if self._waiter is not None:
            if len(pending) >= limit:
                return False
            pending.append(frame)
            return True
        pending.append(frame)
        if len(pending) == 1:
            self._flusher.add(self)
        elif len(pending) >= min(_FLUSH_AT, limit):
            self._write()
        return True

    def flush(self) -> None:
        if self._waiter is None:
            self._write()

    def _write(self) -> None:
        pending = self._pending
        if not pending:
            return
        protocol = self._protocol
        transport = protocol.transport
        # (A lost connection's transport is closing too.)
        if protocol.close_sent or transport.is_closing():
            pending.clear()  # the closing handshake began: data frames may no longer follow
            return
        if not protocol.writable.is_set():
            if self._waiter is None:
                self._waiter = asyncio.create_task(self._write_when_writable())
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        transport.write(data)

    async def _write_when_writable(self) -> None:
        try:
            await self._protocol.writable.wait()
        finally:
            self._waiter = None
        self._write()

    async def drain(self) -> None:
        """Write everything queued, waiting for the client to read as long as it takes."""
        protocol = self._protocol
        while self._pending and not (protocol.close_sent or protocol.disconnected):
            await protocol.writable.wait()
            self._write()

    def discard(self) -> None:
        self._pending.clear()
        if self._waiter is not None:
            self._waiter.cancel()
