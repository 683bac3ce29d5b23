"""Writing frames to a WebSocket without a task per socket.

Every `send` through ASGI is a coroutine, so writing to a thousand sockets costs a thousand
task wake-ups plus the Starlette and uvicorn layers around each frame. When the server is
uvicorn with its sans-I/O websockets protocol (what `gochat serve` and the tests run), the
protocol object is reachable through the ASGI `receive` callable, and a frame can be written
to its transport at once while the transport is not paused. Under back-pressure, and with any
other server, frames take the ASGI path from the socket's bounded outbox instead.

An event's `next` payload is the same for every socket of a document group; only the operation
id in front of it differs. `Payload` encodes it once and keeps the finished WebSocket frame per
distinct prefix, so a thousand sockets subscribed with the same id share one frame.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# Clients mostly number their operations alike ("1", "2", ...): a few prefixes cover most
# sockets, and a payload sent under many distinct ids should not hold a frame for each.
_MAX_FRAMES_PER_PAYLOAD = 16


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


class WireClosed(Exception):
    """The connection is closing or gone: nothing more can be written."""


class DirectWire:
    """Synchronous writes to a uvicorn sans-I/O WebSocket connection."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, receive: Any) -> DirectWire | None:
        """The direct wire behind an ASGI `receive` callable, when there is one."""
        protocol = getattr(receive, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.conn.extensions:
            return None  # frames through an extension (permessage-deflate) need websockets
        return cls(protocol)

    def writable(self) -> bool:
        """True when a write now would neither block nor be lost."""
        protocol = self._protocol
        return (
            protocol.writable.is_set()
            and not protocol.close_sent
            and not protocol.disconnected
            and not protocol.transport.is_closing()
        )

    def write_frame(self, frame: bytes) -> None:
        """Write one finished frame; only call when writable(). The connection's websockets
        state needs no update: data frames change nothing in it."""
        self._protocol.transport.write(frame)
