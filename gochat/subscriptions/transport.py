"""GraphQL over WebSocket: graphql-transport-ws, and the legacy graphql-ws (subscriptions-
transport-ws), with subscriptions delivered by the hub.

The protocol rules follow the graphql-ws specification: `connection_init` within the configured
time (else close 4408), once (else 4429); nothing before the ack (4401); unique operation ids
(4409); malformed messages close the socket with 4400 and leave the server unharmed. The server
pings every `keepalive_seconds` (`ka` on the legacy protocol), and closes the socket with 4401
when the access token it was opened with expires: clients renew by reconnecting.

Queries and mutations sent over the socket run through the schema like HTTP ones. Subscriptions
are parsed and validated once per distinct document, their root field opens a feed, and the
hub executes each event once per document for all sockets of the process (`fanout="shared"`);
`fanout="per-subscriber"` iterates each feed on its own instead, the baseline of the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import sys
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import structlog
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution import Executor, create_source_event_stream, execute_subscription_event
from graphql.pyutils import is_awaitable
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gochat.domain.presence import PresenceHandle
from gochat.domain.records import Viewer
from gochat.domain.services import Services
from gochat.errors import GoChatError, RateLimited, Unauthenticated
from gochat.schema.context import Context, client_info
from gochat.schema.errors import translate
from gochat.subscriptions.executor import EventExecutor
from gochat.subscriptions.feeds import Feed, FeedStream
from gochat.subscriptions.hub import Hub
from gochat.subscriptions.wire import DirectWire, Flusher, Payload, text_frame

log = structlog.get_logger("gochat.ws")

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

PING_FRAME = '{"type":"ping"}'
PONG_FRAME = '{"type":"pong"}'
KA_FRAME = '{"type":"ka"}'

CLOSE_BAD_MESSAGE = 4400
_CLOSE_UNAUTHORIZED = 4401
_CLOSE_FORBIDDEN = 4403
_CLOSE_SUBPROTOCOL = 4406
_CLOSE_INIT_TIMEOUT = 4408
_CLOSE_DUPLICATE = 4409
_CLOSE_TOO_MANY_INITS = 4429
_CLOSE_SLOW = 1013


@dataclass(frozen=True, slots=True)
class WsSettings:
    connection_init_timeout_seconds: float
    max_operations: int
    keepalive_seconds: float
    max_outbox_frames: int
    allowed_origins: tuple[str, ...]
    fanout: str  # shared | per-subscriber
    trust_forwarded_for: bool


class ProtocolViolation(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class DocumentCache:
    """Parsed and validated documents by text, so a thousand sockets subscribing with the same
    document cost one parse and one validation."""

    def __init__(self, endpoint: LiveEndpoint, *, size: int = 1024) -> None:
        self._endpoint = endpoint
        self._size = size
        self._entries: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = (
            OrderedDict()
        )

    def get(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        found = self._entries.get(query)
        if found is not None:
            self._entries.move_to_end(query)
            return found
        endpoint = self._endpoint
        try:
            document = parse(query, max_tokens=endpoint.max_tokens)
        except GraphQLError as exc:
            entry: tuple[DocumentNode | None, list[GraphQLError]] = (None, [exc])
        else:
            errors = validate(endpoint.graphql_schema, document, rules=endpoint.validation_rules)
            entry = (None, list(errors)) if errors else (document, [])
        self._entries[query] = entry
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry


class LiveEndpoint:
    """The ASGI endpoint for WebSocket connections on /graphql."""

    def __init__(
        self,
        schema: Any,
        settings: WsSettings,
        *,
        validation_rules: list[Any],
        max_tokens: int,
    ) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema
        self.settings = settings
        self.max_outbox_frames = settings.max_outbox_frames
        self.validation_rules = validation_rules
        self.max_tokens = max_tokens
        self.documents = DocumentCache(self)
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
            await websocket.close(code=_CLOSE_SUBPROTOCOL, reason="Subprotocol not acceptable")
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
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive


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
                    _CLOSE_UNAUTHORIZED, "access token expired: reconnect with a fresh one"
                )
        self._timer = None
        self._schedule(loop)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_NO_PAYLOAD: Mapping[str, Any] = MappingProxyType({})


class LiveSocket:
    """One WebSocket connection and its operations."""

    # Ten thousand idle sockets are ten thousand of these: no per-instance __dict__.
    __slots__ = (
        "_acknowledged",
        "_background",
        "_closer",
        "_closing",
        "_init_timer",
        "_initialized",
        "_outbox",
        "_wire",
        "_writer",
        "client",
        "endpoint",
        "hub",
        "init_payload",
        "operations",
        "presence_session",
        "protocol",
        "serial",
        "services",
        "viewer",
        "websocket",
    )

    def __init__(
        self,
        endpoint: LiveEndpoint,
        websocket: WebSocket,
        protocol: str,
        services: Services,
        hub: Hub,
        *,
        wire: DirectWire | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.websocket = websocket
        self._wire = wire
        self.protocol = protocol
        self.services = services
        self.hub = hub
        self.serial = next(endpoint.serials)  # names the connection in logs
        self.viewer: Viewer | None = None
        self.init_payload: Mapping[str, Any] = _NO_PAYLOAD  # connection_init's, for on_open hooks
        self.presence_session: PresenceHandle | None = None
        self.client = client_info(
            websocket, trust_forwarded_for=endpoint.settings.trust_forwarded_for
        )
        self.operations: dict[str, LiveSubscription | asyncio.Task[None]] = {}
        self._acknowledged = False
        self._initialized = False
        # Without a direct wire: frames waiting for the writer task, which exists only while
        # there are some.
        self._outbox: deque[str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._closer: asyncio.Task[None] | None = None
        self._init_timer: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[None]] | None = None  # created on first use

    # --- sending ---------------------------------------------------------------------------

    def push(self, frame: str) -> None:
        """Queue a frame; never blocks."""
        if self._closing:
            return
        if self._wire is not None:
            self._send_frame(self._wire, text_frame(frame.encode()))
        else:
            self._queue(frame)

    def push_payload(self, prefix: str, prefix_bytes: bytes, payload: Payload) -> None:
        """`push(prefix + payload + "}")`, with the frame built once for every socket."""
        if self._closing:
            return
        wire = self._wire
        if wire is None:
            self._queue(payload.message(prefix))
        elif not wire.send(payload.frame(prefix_bytes), limit=self.endpoint.max_outbox_frames):
            self._overflowed()

    def _send_frame(self, wire: DirectWire, frame: bytes) -> None:
        if not wire.send(frame, limit=self.endpoint.max_outbox_frames):
            self._overflowed()

    def _overflowed(self) -> None:
        log.warning("ws.slow_consumer", connection=self.serial)
        self.close_soon(_CLOSE_SLOW, "slow consumer: reconnect and resync")

    def _queue(self, frame: str) -> None:
        """A socket whose outbox overflows is closed: its client reconnects and refetches
        instead of the server buffering without bound."""
        if self._outbox is None:
            self._outbox = deque()
        if len(self._outbox) >= self.endpoint.settings.max_outbox_frames:
            self._overflowed()
            return
        self._outbox.append(frame)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())

    async def _write_queued(self) -> None:
        send = self.websocket.send_text
        outbox = self._outbox
        assert outbox is not None
        try:
            while outbox:
                # Pop only once written: a frame in flight keeps later ones behind it.
                await send(outbox[0])
                outbox.popleft()
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._closing = True
        finally:
            self._writer = None

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, keeping a reference until it is done."""
        task = asyncio.create_task(work)
        if self._background is None:
            self._background = set()
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def send_json(self, message: dict[str, Any]) -> None:
        self.push(json.dumps(message, separators=(",", ":")))

    def keepalive(self) -> None:
        if self._acknowledged:
            self.push(PING_FRAME if self.protocol == TRANSPORT_WS else KA_FRAME)

    def close_soon(self, code: int, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._closer = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        self._closing = True
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            # Cancelled while waiting to write, so its frame is still first in the outbox.
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                # Flush what is queued before the close frame, so a final error arrives.
                if self._wire is not None:
                    await self._wire.drain()
                outbox = self._outbox
                while outbox:
                    await self.websocket.send_text(outbox.popleft())
                await self.websocket.close(code=code, reason=reason)

    # --- receiving -------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.endpoint.settings
        self._init_timer = loop.call_later(
            settings.connection_init_timeout_seconds, self._init_timed_out
        )
        try:
            while not self._closing and await self._receive_one():
                pass
        except ProtocolViolation as violation:
            await self._close(violation.code, violation.reason)
        except WebSocketDisconnect:
            pass
        finally:
            if self._closer is not None:
                # Returning would let the server drop the connection before the close frame.
                with contextlib.suppress(Exception):
                    await self._closer
            await self._shutdown()

    async def _receive_one(self) -> bool:
        """Handle one client message; False once the client is gone. A method of its own so
        that an idle socket keeps no reference to the last message it received."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return False
        text = message.get("text")
        if text is None:
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, "WebSocket message must be text")
        try:
            decoded = json.loads(text)
        except ValueError:
            raise ProtocolViolation(
                CLOSE_BAD_MESSAGE, "WebSocket message must be valid JSON"
            ) from None
        if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str):
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, "Failed to parse message")
        await self._handle(decoded)
        return True

    def _init_timed_out(self) -> None:
        if not self._initialized:
            self.close_soon(_CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        legacy = self.protocol == LEGACY_WS
        if kind == "connection_init":
            await self._connection_init(message)
        elif kind == "ping" and not legacy:
            self.push(PONG_FRAME)
        elif kind == "pong" and not legacy:
            pass
        elif kind == ("start" if legacy else "subscribe"):
            await self._subscribe(message)
        elif kind == ("stop" if legacy else "complete"):
            await self._stop(_operation_id(message))
        elif kind == "connection_terminate" and legacy:
            await self._close(1000, "")
        else:
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, f"Unknown message type: {kind}")

    async def _connection_init(self, message: dict[str, Any]) -> None:
        if self._initialized:
            raise ProtocolViolation(_CLOSE_TOO_MANY_INITS, "Too many initialisation requests")
        self._initialized = True
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, "Invalid connection init payload")
        self.init_payload = payload
        raw = payload.get("authorization") or payload.get("Authorization")
        if not raw:
            header = self.websocket.headers.get("authorization", "")
            raw = header or None
        ack: dict[str, Any] = {"type": "connection_ack"}
        if raw:
            token = str(raw)
            if token.lower().startswith("bearer "):
                token = token[7:].strip()
            try:
                self.viewer = await self.services.accounts.authenticate(token)
            except GoChatError as exc:
                if self.protocol == LEGACY_WS:
                    code = exc.code if isinstance(exc, Unauthenticated) else "INTERNAL"
                    self.send_json(
                        {
                            "type": "connection_error",
                            "payload": {"message": exc.message, "code": code},
                        }
                    )
                    await self._close(1011, "")
                    return
                raise ProtocolViolation(_CLOSE_FORBIDDEN, "Forbidden") from exc
            ack["payload"] = {"userId": str(self.viewer.user_id)}
            self._expire_with_token(self.viewer)
        for hook in self.endpoint.on_open:
            await hook(self)
        self.init_payload = _NO_PAYLOAD  # read by the hooks only; the token is not kept per socket
        self._release_headers()
        self._acknowledged = True
        self.send_json(ack)

    def _release_headers(self) -> None:
        """Nothing reads the upgrade request's headers after connection_init (the client's
        address and user agent are in `self.client`): about 1 KB of header tuples per idle
        socket that the ASGI scope would otherwise hold for the connection's lifetime."""
        headers = self.websocket.scope.get("headers")
        if isinstance(headers, list):
            headers.clear()

    def _expire_with_token(self, viewer: Viewer) -> None:
        remaining = (viewer.access_expires_at - datetime.now(UTC)).total_seconds()
        self.endpoint.expiries.add(self, remaining)

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self._acknowledged:
            raise ProtocolViolation(_CLOSE_UNAUTHORIZED, "Unauthorized")
        op_id = _operation_id(message)
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, "subscribe needs a payload with a query")
        if op_id in self.operations:
            if self.protocol == LEGACY_WS:
                await self._stop(op_id)
            else:
                raise ProtocolViolation(_CLOSE_DUPLICATE, f"Subscriber for {op_id} already exists")
        if len(self.operations) >= self.endpoint.settings.max_operations:
            limit = self.endpoint.settings.max_operations
            self._send_errors(
                op_id,
                [
                    RateLimited(
                        f"at most {limit} operations may run on one connection; complete one first",
                        retry_after=1.0,
                    )
                ],
            )
            return
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(variables, dict) or not (
            operation_name is None or isinstance(operation_name, str)
        ):
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, "variables must be an object")
        document, errors = self.endpoint.documents.get(payload["query"])
        if document is None:
            self._send_graphql_errors(op_id, errors)
            return
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            self._send_graphql_errors(op_id, [GraphQLError("Unknown or ambiguous operation")])
            return
        if operation.operation is not OperationType.SUBSCRIPTION:
            task = asyncio.create_task(
                self._run_single(op_id, payload["query"], variables, operation_name)
            )
            self.operations[op_id] = task
            return
        await self._start_subscription(
            op_id,
            query=payload["query"],
            document=document,
            variables=variables,
            operation_name=operation_name,
        )

    def context(self) -> Context:
        """A fresh context: each operation, and each delivered event, gets its own loaders."""
        return Context(
            services=self.services,
            request=self.websocket,
            client=self.client,
            request_id=uuid.uuid4().hex,
            bearer_token=None,
            ws_viewer=self.viewer,
            presence_session=self.presence_session,
        )

    async def _run_single(
        self, op_id: str, query: str, variables: dict[str, Any], operation_name: str | None
    ) -> None:
        try:
            result = await self.endpoint.schema.execute(
                query,
                variable_values=variables,
                context_value=self.context(),
                operation_name=operation_name,
            )
            self._send_next(op_id, _payload(result.data, result.errors, request_id=None).text)
            self._send_complete(op_id)
        finally:
            self.operations.pop(op_id, None)

    async def _start_subscription(
        self,
        op_id: str,
        *,
        query: str,
        document: DocumentNode,
        variables: dict[str, Any],
        operation_name: str | None,
    ) -> None:
        context = self.context()
        built = EventExecutor.build(
            self.endpoint.graphql_schema,
            document,
            context_value=context,
            raw_variable_values=variables,
            operation_name=operation_name,
        )
        if isinstance(built, list):
            self._send_graphql_errors(op_id, built)
            return
        source = create_source_event_stream(built)
        if is_awaitable(source):
            source = await source
        if isinstance(source, ExecutionResult):
            self._send_graphql_errors(op_id, source.errors or [], request_id=context.request_id)
            return
        if not isinstance(source, FeedStream):
            self._send_graphql_errors(op_id, [GraphQLError("not a live field")])
            return
        # Each event is executed with a fresh context (`LiveSubscription.execute`): the one
        # that opened the feed is not kept for the subscription's lifetime.
        built.context_value = None
        # Interned: a thousand sockets with the same document hold one key.
        key = sys.intern(
            json.dumps([query, operation_name, variables], sort_keys=True, default=str)
        )
        live = LiveSubscription(self, op_id, built, source.feed, key)
        self.operations[op_id] = live
        if self.endpoint.settings.fanout == "per-subscriber":
            live.task = asyncio.create_task(live.run_alone(source))
            return
        # Listen first, read the snapshot second, and hold what arrives meanwhile until the
        # snapshot is out: no change falls between the two, and none precedes it.
        live.held = []
        try:
            await self.hub.attach(live)
            for root in await source.feed.initial():
                payload, _ = await live.execute(root)
                live.send_now(payload)
        except GoChatError as exc:
            self.operations.pop(op_id, None)
            await self.hub.detach(live)
            self._send_errors(op_id, [exc])
            return
        finally:
            held, live.held = live.held, None
        for payload in held:
            live.send_payload(payload)

    async def _stop(self, op_id: str) -> None:
        operation = self.operations.pop(op_id, None)
        if isinstance(operation, LiveSubscription):
            await operation.stop()
        elif operation is not None:
            operation.cancel()

    async def _shutdown(self) -> None:
        self._closing = True
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        self.endpoint.expiries.discard(self)
        for op_id in list(self.operations):
            await self._stop(op_id)
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        if self._wire is not None:
            self._wire.discard()
        if self._acknowledged:
            for hook in self.endpoint.on_close:
                with contextlib.suppress(Exception):
                    await hook(self)

    # --- frames ----------------------------------------------------------------------------

    def frame_prefix(self, op_id: str) -> str:
        kind = "data" if self.protocol == LEGACY_WS else "next"
        return '{"id":' + json.dumps(op_id) + ',"type":"' + kind + '","payload":'

    def _send_next(self, op_id: str, payload: str) -> None:
        self.push(self.frame_prefix(op_id) + payload + "}")

    def _send_complete(self, op_id: str) -> None:
        self.send_json({"id": op_id, "type": "complete"})

    def _send_graphql_errors(
        self, op_id: str, errors: list[GraphQLError], *, request_id: str | None = None
    ) -> None:
        formatted = [translate(e, request_id=request_id).formatted for e in errors]
        if self.protocol == LEGACY_WS:
            self.send_json({"id": op_id, "type": "error", "payload": formatted[0]})
        else:
            self.send_json({"id": op_id, "type": "error", "payload": formatted})

    def _send_errors(self, op_id: str, errors: list[GoChatError]) -> None:
        self._send_graphql_errors(
            op_id, [GraphQLError(e.message, original_error=e) for e in errors]
        )


class LiveSubscription:
    """One subscription operation of a socket, fed by the hub (or alone, as the baseline)."""

    __slots__ = (
        "_ended",
        "_prefix",
        "_prefix_bytes",
        "document_key",
        "executor",
        "feed",
        "held",
        "op_id",
        "socket",
        "task",
    )

    def __init__(
        self,
        socket: LiveSocket,
        op_id: str,
        executor: Executor[Any],
        feed: Feed,
        document_key: str,
    ) -> None:
        self.socket = socket
        self.op_id = op_id
        self.executor = executor
        self.feed = feed
        self.document_key = document_key
        self.task: asyncio.Task[None] | None = None
        self._prefix = socket.frame_prefix(op_id)
        self._prefix_bytes = self._prefix.encode()
        self._ended = False
        self.held: list[Payload] | None = None  # payloads held back until the snapshot is sent

    async def execute(self, root: object) -> tuple[Payload, bool]:
        context = self.socket.context()
        per_event = self.executor.build_per_event_executor(root)
        per_event.context_value = context
        result = execute_subscription_event(per_event)
        if is_awaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return _payload(result.data, result.errors, request_id=context.request_id), (
            context.viewer_used
        )

    def send_payload(self, payload: Payload) -> None:
        if self.held is not None:
            self.held.append(payload)
        elif not self._ended:
            self.socket.push_payload(self._prefix, self._prefix_bytes, payload)

    @staticmethod
    def send_payload_to(operations: Sequence[LiveSubscription], payload: Payload) -> None:
        """`send_payload` on each operation. This is the hub's innermost loop, run once per
        socket and event, so the common case (a direct wire, nothing held back, the socket
        open) is written out here; every other case takes `send_payload`."""
        last_prefix = b""
        frame = b""
        for operation in operations:
            socket = operation.socket
            wire = socket._wire
            if operation.held is not None or operation._ended or socket._closing or wire is None:
                operation.send_payload(payload)
                continue
            prefix = operation._prefix_bytes
            if prefix != last_prefix:
                frame = payload.frame(prefix)
                last_prefix = prefix
            if not wire.send(frame, limit=socket.endpoint.max_outbox_frames):
                socket._overflowed()

    def send_now(self, payload: Payload) -> None:
        if not self._ended:
            self.socket.push_payload(self._prefix, self._prefix_bytes, payload)

    def end(self, error: GoChatError | None) -> None:
        if self._ended:
            return
        held, self.held = self.held or [], None
        for payload in held:
            self.send_now(payload)
        self._ended = True
        self.socket.operations.pop(self.op_id, None)
        if error is not None:
            self.socket._send_errors(self.op_id, [error])
        else:
            self.socket._send_complete(self.op_id)
        self.socket.spawn(self.socket.hub.detach(self))

    async def stop(self) -> None:
        """The client stopped it, or the socket closed: no final frame."""
        self._ended = True
        if self.task is not None:
            self.task.cancel()
        else:
            await self.socket.hub.detach(self)

    async def run_alone(self, stream: FeedStream) -> None:
        try:
            async for root in stream:
                payload, _ = await self.execute(root)
                self.send_payload(payload)
        except GoChatError as exc:
            self.end(exc)
            return
        self.end(None)


def _payload(
    data: dict[str, Any] | None, errors: list[GraphQLError] | None, *, request_id: str | None
) -> Payload:
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = [translate(e, request_id=request_id).formatted for e in errors]
    return Payload(json.dumps(body, separators=(",", ":"), default=str))


def _operation_id(message: dict[str, Any]) -> str:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id:
        raise ProtocolViolation(CLOSE_BAD_MESSAGE, "Failed to parse message: id")
    return op_id
