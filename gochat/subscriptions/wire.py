"""Writing frames to a WebSocket without a task per socket.

Every `send` through ASGI is a coroutine, so writing to a thousand sockets costs a thousand
task wake-ups plus the Starlette and uvicorn layers around each frame. When the server is
uvicorn with its sans-I/O websockets protocol (what `gochat serve` and the tests run), the
protocol object is reachable through the ASGI `receive` callable, and a frame can be written
to its transport at once while the transport is not paused. Under back-pressure, and with any
other server, frames take the ASGI path from the socket's bounded outbox instead.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


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
        if not isinstance(protocol, WebSocketsSansIOProtocol):
            return None
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

    def write_text(self, text: str) -> None:
        """Frame and write one text message; only call when writable()."""
        protocol = self._protocol
        conn = protocol.conn
        try:
            conn.send_text(text.encode())
        except Exception as exc:  # websockets' InvalidState: the closing handshake began
            raise WireClosed from exc
        protocol.transport.write(b"".join(conn.data_to_send()))
