"""GraphQL over WebSocket: graphql-transport-ws, and the legacy graphql-ws (subscriptions-
transport-ws), with subscriptions delivered by the hub.

The protocol rules follow the graphql-ws specification: `connection_init` within the configured
time (else close 4408), once (else 4429); nothing before the ack (4401); unique operation ids
(4409); malformed messages close the socket with 4400 and leave the server unharmed. The server
pings every `keepalive_seconds` (`ka` on the legacy protocol), and closes the socket with 4401
when the access token it was opened with expires (clients renew by reconnecting) or when its
session ends (`sessions.SessionGuard`), and with 1009 on a message over `max_message_bytes`.

Queries and mutations sent over the socket run through the schema like HTTP ones. Subscriptions
are parsed and validated once per distinct document, their root field opens a feed, and the
hub executes each event once per document for all sockets of the process (`fanout="shared"`);
`fanout="per-subscriber"` iterates each feed on its own instead, the baseline of the benchmark.

This module is the ASGI endpoint and what it keeps for all sockets of the process (one
keep-alive timer, one token-expiry timer); `connection` is one socket, `operations` runs its
operations, `protocol` holds the protocols' names, codes and message shapes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from gochat.domain.services import Services
from gochat.subscriptions.connection import LiveSocket
from gochat.subscriptions.hub import Hub
from gochat.subscriptions.operations import DocumentCache, SharedExecutors
from gochat.subscriptions.protocol import (
    CLOSE_SUBPROTOCOL,
    CLOSE_UNAUTHORIZED,
    LEGACY_WS,
    TRANSPORT_WS,
    WsSettings,
)
from gochat.subscriptions.wire import DirectWire, Flusher
from gochat.tasks import stop_task

__all__ = ["LiveEndpoint", "TokenExpiries", "WsSettings"]


class LiveEndpoint:
    """The ASGI endpoint for WebSocket connections on /graphql."""

    def __init__(
        self,
        schema: Any,
        settings: WsSettings,
        *,
        validation_rules: list[Any],
        max_tokens: int,
        document_cache_size: int = 256,
    ) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema
        self.settings = settings
        self.max_outbox_frames = settings.max_outbox_frames
        self.validation_rules = validation_rules
        self.max_tokens = max_tokens
        self.documents = DocumentCache(self, size=document_cache_size)
        self.executors = SharedExecutors()
        self.flusher = Flusher()
        self.sockets: set[LiveSocket] = set()
        self.serials = itertools.count(1)
        self.expiries = TokenExpiries()
        self._keepalive: asyncio.Task[None] | None = None
        self.on_open: list[Callable[[LiveSocket], Awaitable[None]]] = []
        self.on_close: list[Callable[[LiveSocket], Awaitable[None]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if not self._origin_allowed(websocket):
            await websocket.close(code=1008)
            return
        offered = scope.get("subprotocols") or []
        protocol = next((p for p in (TRANSPORT_WS, LEGACY_WS) if p in offered), None)
        await websocket.accept(subprotocol=protocol)
        if protocol is None:
            await websocket.close(code=CLOSE_SUBPROTOCOL, reason="Subprotocol not acceptable")
            return
        services: Services = websocket.app.state.services
        hub: Hub = websocket.app.state.hub
        wire = DirectWire.of(receive, self.flusher)
        if wire is not None:
            wire.release_handshake()
        socket = LiveSocket(self, websocket, protocol, services, hub, wire=wire)
        self.sockets.add(socket)
        self._ensure_keepalive()
        try:
            await socket.run()
        finally:
            self.sockets.discard(socket)

    def _origin_allowed(self, websocket: WebSocket) -> bool:
        origin = websocket.headers.get("origin")
        if origin is None:
            return True  # not a browser
        if origin in self.settings.allowed_origins or "*" in self.settings.allowed_origins:
            return True
        host = websocket.headers.get("host", "")
        return origin.split("://", 1)[-1] == host

    def _ensure_keepalive(self) -> None:
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.create_task(self._ping_forever(), name="ws-keepalive")

    async def _ping_forever(self) -> None:
        # One timer for every socket of the process, instead of one task per socket.
        while self.sockets:
            await asyncio.sleep(self.settings.keepalive_seconds)
            for socket in tuple(self.sockets):
                socket.keepalive()

    async def close(self) -> None:
        self.expiries.close()
        if self._keepalive is not None:
            await stop_task(self._keepalive)


class TokenExpiries:
    """Closes each socket when the access token it was opened with expires, with one timer
    for the process instead of one per socket (a timer handle, its arguments and a bound
    method: about 600 bytes on each of ten thousand idle sockets)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int]] = []  # (loop time, socket serial), a heap
        self._sockets: dict[int, LiveSocket] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, socket: LiveSocket, remaining_seconds: float) -> None:
        loop = asyncio.get_running_loop()
        when = loop.time() + max(remaining_seconds, 0.0)
        heapq.heappush(self._due, (when, socket.serial))
        self._sockets[socket.serial] = socket
        if len(self._due) > 2 * len(self._sockets) + 1024:
            # Closed sockets leave entries behind until their time comes: drop them.
            self._due = [entry for entry in self._due if entry[1] in self._sockets]
            heapq.heapify(self._due)
        if self._timer is None or when < self._timer.when():
            self._schedule(loop)

    def discard(self, socket: LiveSocket) -> None:
        self._sockets.pop(socket.serial, None)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(self._due[0][0], self._expire) if self._due else None

    def _expire(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self._due
        while due and due[0][0] <= now:
            _, serial = heapq.heappop(due)
            socket = self._sockets.pop(serial, None)
            if socket is not None:
                socket.close_soon(
                    CLOSE_UNAUTHORIZED, "access token expired: reconnect with a fresh one"
                )
        self._timer = None
        self._schedule(loop)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
