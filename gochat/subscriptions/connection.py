"""One WebSocket connection: its protocol messages in order, its session, and its frames out.

A socket reads one message at a time and handles it before the next (so a subscription is
registered before anything sent after it runs). Frames go out through the direct wire when the
server offers one, else through a bounded outbox and a writer task; a socket that cannot keep up
is closed (1013) rather than buffered without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import deque
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import structlog
from graphql import GraphQLError, OperationType, get_operation_ast
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gochat import metrics
from gochat.bus import subjects
from gochat.domain.events import SessionRevoked
from gochat.domain.presence import PresenceHandle
from gochat.domain.records import Viewer
from gochat.domain.services import Services
from gochat.errors import GoChatError, RateLimited, Unauthenticated, Unavailable
from gochat.schema.context import Context, client_info
from gochat.schema.errors import translate
from gochat.schema.query_limits import admit_operation
from gochat.subscriptions.hub import Hub
from gochat.subscriptions.operations import LiveSubscription, run_single, start_subscription
from gochat.subscriptions.protocol import (
    CLOSE_BAD_MESSAGE,
    CLOSE_DUPLICATE,
    CLOSE_FORBIDDEN,
    CLOSE_INIT_TIMEOUT,
    CLOSE_SLOW,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_INITS,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHORIZED,
    KA_FRAME,
    LEGACY_WS,
    PING_FRAME,
    PONG_FRAME,
    TRANSPORT_WS,
    ProtocolViolation,
    operation_id,
)
from gochat.subscriptions.wire import DirectWire, Payload, text_frame
from gochat.tasks import stop_task

if TYPE_CHECKING:
    from gochat.subscriptions.transport import LiveEndpoint

log = structlog.get_logger("gochat.ws")

SESSION_ENDED = "session ended: sign in again"
# How long a socket whose session ended waits for the hub to finish telling its `events`
# streams so: a bound for a stuck delivery, not a pause (an event is delivered in microseconds).
_HUB_GRACE_SECONDS = 1.0

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
        "_revoked",
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
        # Set once the session ended (then also each time an operation ends).
        self._revoked: asyncio.Event | None = None
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
        metrics.ws_slow_consumers.inc()
        self.close_soon(CLOSE_SLOW, "slow consumer: reconnect and resync")

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
            await stop_task(writer)
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
        except Exception:
            # A bug, not the client's fault: a clean 1011 instead of a dropped connection
            # (1006), which clients cannot tell from a network failure.
            log.exception("ws.handler_failed")
            with contextlib.suppress(Exception):
                await self._close(1011, "Internal error")
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
        limit = self.endpoint.settings.max_message_bytes
        # uvicorn refuses bigger messages itself (`ws_max_size`); this holds behind any
        # server. A character is at most 4 bytes: most messages need no encoding to tell.
        if len(text) * 4 > limit and len(text.encode()) > limit:
            raise ProtocolViolation(CLOSE_TOO_BIG, f"message exceeds {limit} bytes")
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
            self.close_soon(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")

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
            await self._stop(operation_id(message))
        elif kind == "connection_terminate" and legacy:
            await self._close(1000, "")
        else:
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, f"Unknown message type: {kind}")

    async def _connection_init(self, message: dict[str, Any]) -> None:
        if self._initialized:
            raise ProtocolViolation(CLOSE_TOO_MANY_INITS, "Too many initialisation requests")
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
                # A database that is away says nothing about the token: the client should
                # come back later with the same one, not sign in again.
                unavailable = isinstance(exc, Unavailable)
                if self.protocol == LEGACY_WS:
                    code = (
                        exc.code if isinstance(exc, Unauthenticated | Unavailable) else "INTERNAL"
                    )
                    self.send_json(
                        {
                            "type": "connection_error",
                            "payload": {"message": exc.message, "code": code},
                        }
                    )
                    await self._close(CLOSE_TRY_AGAIN_LATER if unavailable else 1011, "")
                    return
                if unavailable:
                    raise ProtocolViolation(CLOSE_TRY_AGAIN_LATER, "Try again later") from exc
                raise ProtocolViolation(CLOSE_FORBIDDEN, "Forbidden") from exc
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
            raise ProtocolViolation(CLOSE_UNAUTHORIZED, "Unauthorized")
        op_id = operation_id(message)
        if self.viewer is not None and not await self._session_live(op_id):
            return
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise ProtocolViolation(CLOSE_BAD_MESSAGE, "subscribe needs a payload with a query")
        if op_id in self.operations:
            if self.protocol == LEGACY_WS:
                await self._stop(op_id)
            else:
                raise ProtocolViolation(CLOSE_DUPLICATE, f"Subscriber for {op_id} already exists")
        if len(self.operations) >= self.endpoint.settings.max_operations:
            limit = self.endpoint.settings.max_operations
            self.send_errors(
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
            self.send_graphql_errors(op_id, errors)
            return
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            self.send_graphql_errors(op_id, [GraphQLError("Unknown or ambiguous operation")])
            return
        if operation.operation is not OperationType.SUBSCRIPTION:
            task = asyncio.create_task(
                run_single(self, op_id, payload["query"], variables, operation_name)
            )
            self.operations[op_id] = task
            return
        try:
            await admit_operation(
                self.endpoint.graphql_schema,
                document,
                operation_name=operation_name,
                variables=variables,
                services=self.services,
                user_id=None if self.viewer is None else self.viewer.user_id,
                ip=self.client.ip,
            )
        except GoChatError as exc:
            self.send_errors(op_id, [exc])
            return
        await start_subscription(
            self,
            op_id,
            query=payload["query"],
            document=document,
            variables=variables,
            operation_name=operation_name,
        )

    async def _session_live(self, op_id: str) -> bool:
        """Whether the socket's session is still live, so that nothing runs for a session that
        ended before its socket closes (its revocation may still be on the bus). Reads the
        session as HTTP requests do, through the process's session cache."""
        assert self.viewer is not None
        if self._revoked is not None:
            return False  # the close is on its way
        try:
            await self.services.accounts.ensure_live(self.viewer)
        except Unauthenticated:
            self._revoked = asyncio.Event()
            self.close_soon(CLOSE_UNAUTHORIZED, SESSION_ENDED)
            return False
        except GoChatError as exc:
            self.send_errors(op_id, [exc])
            return False
        return True

    async def end_session(self, event: SessionRevoked | None) -> None:
        """The socket's session ended: refuse further operations at once, let the
        subscriptions that report it (`events`) deliver `event` and complete, then close the
        socket 4401. Their feeds remember the event, so the hub does not deliver it again
        when it arrives on the user's subject; when the hub is delivering it already, the
        close waits (briefly) for it to finish."""
        if self._revoked is not None or self._closing:
            return
        ended = self._revoked = asyncio.Event()
        if event is not None:
            subject = subjects.user(event.user_id)
            in_hand = [
                operation
                for operation in tuple(self.operations.values())
                if isinstance(operation, LiveSubscription)
                and await operation.conclude(subject, event)
            ]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_HUB_GRACE_SECONDS):
                    while not all(operation.ended for operation in in_hand):
                        ended.clear()
                        await ended.wait()
        self.close_soon(CLOSE_UNAUTHORIZED, SESSION_ENDED)

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
            await stop_task(writer)
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

    def send_next(self, op_id: str, payload: str) -> None:
        self.push(self.frame_prefix(op_id) + payload + "}")

    def send_complete(self, op_id: str) -> None:
        self.send_json({"id": op_id, "type": "complete"})

    def send_graphql_errors(
        self, op_id: str, errors: list[GraphQLError], *, request_id: str | None = None
    ) -> None:
        formatted = [translate(e, request_id=request_id).formatted for e in errors]
        if self.protocol == LEGACY_WS:
            self.send_json({"id": op_id, "type": "error", "payload": formatted[0]})
        else:
            self.send_json({"id": op_id, "type": "error", "payload": formatted})

    def send_errors(self, op_id: str, errors: list[GoChatError]) -> None:
        self.send_graphql_errors(op_id, [GraphQLError(e.message, original_error=e) for e in errors])
