"""The Starlette application: /graphql (HTTP and WebSocket), /health and /ready."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import structlog
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gochat.collector_pacing import CollectorPacing
from gochat.config import Settings
from gochat.domain.services import Services
from gochat.file_routes import UNLIMITED_BODY_PREFIXES
from gochat.file_routes import routes as file_routes
from gochat.graphql_schema import GoChatSchema, build_schema
from gochat.media_proxy import routes as media_proxy_routes
from gochat.metrics import MetricsEndpoint, ScrapeTimeFigures
from gochat.readiness import Readiness
from gochat.schema.context import Context, client_info
from gochat.schema.errors import http_error_body, translate
from gochat.schema.over_http import (
    GRAPHQL_RESPONSE_JSON,
    LEGACY_JSON,
    is_request_error,
    negotiate,
    request_error_status,
)
from gochat.subscriptions.hub import Hub
from gochat.subscriptions.presence import end_presence, report_presence
from gochat.subscriptions.sessions import SessionGuard
from gochat.subscriptions.transport import LiveEndpoint, WsSettings
from gochat.tracing import HttpTracing, Tracing
from gochat.web import pages
from gochat.web.graphiql import graphiql_page, static_mount
from gochat.wiring import build_services, media_fetcher, open_readiness_checks

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from gochat.sfu.server import EmbeddedSfu

log = structlog.get_logger("gochat.app")

access_log = structlog.get_logger("gochat.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The first named operation of a document, for the access line when the request names none.
_OPERATION_NAME = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


class GoChatGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings, schema: GoChatSchema) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=(),
        )
        self._trust_forwarded_for = settings.trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        accept = request.headers.get("accept")
        media_type = negotiate(accept)
        try:
            if media_type is None and "text/html" not in (accept or ""):
                raise HTTPException(
                    406, "responses are application/graphql-response+json or application/json"
                )
            response = await self.run(request)
        except HTTPException as exc:
            headers = {"allow": "POST"} if exc.status_code == 405 else None
            response = JSONResponse(
                http_error_body(exc.reason), status_code=exc.status_code, headers=headers
            )
        if response.headers.get("content-type", "").startswith("application/json"):
            media_type = media_type or LEGACY_JSON
            response.headers["content-type"] = f"{media_type}; charset=utf-8"
            refused = request.scope.get("state", {}).get("graphql_request_error")
            if media_type == GRAPHQL_RESPONSE_JSON and refused is not None:
                response.status_code, headers = refused
                response.headers.update(headers)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()

    def decode_json(self, data: str | bytes) -> object:
        # The specification's bodies are UTF-8 JSON objects: anything else is the client's
        # mistake (400), never a crash in the view.
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "the request body is not valid UTF-8") from exc
        decoded = json.loads(text)
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "the request body must be a JSON object")
        return decoded

    async def execute_single(  # noqa: PLR0917
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Subscriptions need the WebSocket; over HTTP they would run as a query and fail
        # inside execution. GET is for queries only (405 for a mutation, as the spec says).
        operation = request_data.operation_name
        if operation is None and request_data.query:
            found = _OPERATION_NAME.search(request_data.query)
            operation = found.group(1) if found else None
        request.scope.setdefault("state", {})["graphql_operation"] = operation
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(
                    400,
                    "subscriptions are served over a WebSocket (graphql-transport-ws) on "
                    "/graphql, not over plain HTTP",
                ) from exc
            raise HTTPException(405, "mutations must be sent with POST") from exc
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "no GraphQL query found in the request") from exc

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Failures before the operation starts (a parse error, the token limit) skip schema
        # extensions; they get their code here, through the same translation.
        if result.errors:
            request_id = request.scope.get("state", {}).get("request_id")
            result.errors = [translate(e, request_id=request_id) for e in result.errors]
        response = await super().process_result(request, result)
        if is_request_error(result.data, result.errors):
            # Execution never started: the response has no `data` entry at all.
            response.pop("data", None)
            assert result.errors is not None
            request.scope.setdefault("state", {})["graphql_request_error"] = request_error_status(
                result.errors
            )
        return response

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        services: Services = request.app.state.services
        bearer = None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            bearer = header[7:].strip()
        return Context(
            services=services,
            request=request,
            client=client_info(request, trust_forwarded_for=self._trust_forwarded_for),
            request_id=request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex,
            bearer_token=bearer,
        )


class _BodyTooLarge(Exception):
    pass


class GoChatApp(Starlette):
    """Starlette, with one shortcut: a WebSocket on the GraphQL route goes from the request
    guard straight to its endpoint. The layers in between (Starlette's error and exception
    middleware, tracing and CORS, the router) pass a WebSocket through untouched, and the
    router would pick the same route; but each of them keeps a coroutine frame (the exception
    middleware also a second `WebSocket` and a `send` wrapper) for as long as the socket is
    open: about 2.5 KB on each of ten thousand idle sockets."""

    def __init__(
        self, *args: Any, live_route: WebSocketRoute, live_entry: ASGIApp, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._live_route = live_route
        self._live_entry = live_entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            match, child_scope = self._live_route.matches(scope)
            if match is Match.FULL:
                scope["app"] = self
                scope["route"] = self._live_route
                scope.update(child_scope)
                await self._live_entry(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class RequestGuard:
    """Gives every request an id (X-Request-Id, also bound to log lines) and refuses HTTP
    bodies over the configured size, before they are read into memory."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, unlimited_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.unlimited_prefixes = unlimited_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            if scope["type"] == "websocket":
                del headers  # not held for the socket's lifetime
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send, headers, request_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes], rid: str
    ) -> None:
        limit = self.max_body_bytes
        if str(scope.get("path", "")).startswith(self.unlimited_prefixes):
            limit = 1 << 62  # the endpoint enforces its own limit
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send, rid)
            access_log.info(
                "http.access",
                method=scope.get("method"),
                path=scope.get("path"),
                status=413,
                latency_ms=0.0,
            )
            return
        received = 0
        started = False
        status = 500  # what the client sees when the application fails before answering
        begun = time.perf_counter()

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not started:
                status = 413
                await self._too_large(scope, receive, send, rid)
        finally:
            access_log.info(
                "http.access",
                method=scope.get("method"),
                path=scope.get("path"),
                operation=scope.get("state", {}).get("graphql_operation"),
                status=status,
                latency_ms=round((time.perf_counter() - begun) * 1000, 2),
            )

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        body = http_error_body(f"request body exceeds {self.max_body_bytes} bytes")
        response = JSONResponse(body, status_code=413, headers={"x-request-id": rid})
        await response(scope, receive, send)


async def health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def serve_metrics(request: Request) -> Response:
    endpoint: MetricsEndpoint | None = getattr(request.app.state, "metrics", None)
    if endpoint is None:
        app = request.app
        endpoint = MetricsEndpoint(ScrapeTimeFigures(lambda: scrape_time_figures(app)))
        request.app.state.metrics = endpoint
    body, content_type = endpoint.render()
    return Response(body, media_type=content_type)


async def ready(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    status, body = await readiness.report(draining=request.app.state.draining)
    return JSONResponse(body, status_code=status)


def scrape_time_figures(app: Starlette) -> Iterator[tuple[str, str, str, float]]:
    """What this process keeps anyway, read for /metrics (see gochat/metrics.py)."""
    hub: Hub | None = getattr(app.state, "hub", None)
    live: LiveEndpoint | None = getattr(app.state, "live", None)
    services: Services | None = getattr(app.state, "services", None)
    if hub is not None:
        stats = hub.stats
        yield "gochat_fanout_events", "Bus events the hub dispatched.", "counter", stats.events
        yield (
            "gochat_fanout_deliveries",
            "Frames the hub handed to sockets (one per subscriber per event).",
            "counter",
            stats.deliveries,
        )
        yield (
            "gochat_fanout_executions",
            "Subscription payloads executed (shared by subscribers of the same shape).",
            "counter",
            stats.executions,
        )
        yield "gochat_fanout_resyncs", "Subscribers told to resync.", "counter", stats.resyncs
        yield (
            "gochat_bus_consume_lag_seconds",
            "Seconds from each dispatched event's creation to this process taking it off the "
            "bus, summed (over gochat_fanout_events: the mean).",
            "counter",
            stats.consume_lag_seconds_sum,
        )
        yield (
            "gochat_bus_consume_lag_max_seconds",
            "The largest such lag since the previous scrape.",
            "gauge",
            stats.read_max_lag(),
        )
        yield (
            "gochat_bus_slow_topics",
            "Bus subscriptions that overflowed and were replaced.",
            "counter",
            stats.slow_topics,
        )
        yield (
            "gochat_subscriptions",
            "Live subscriptions on this process.",
            "gauge",
            stats.subscriptions_opened - stats.subscriptions_closed,
        )
    if live is not None:
        yield "gochat_ws_connections", "Open WebSockets.", "gauge", len(live.sockets)
        yield (
            "gochat_presence_sessions",
            "Presence sessions this process reports (its signed-in WebSockets).",
            "gauge",
            sum(1 for socket in live.sockets if socket.presence_session is not None),
        )
    if services is not None:
        for pool in services.store.pool_figures():
            role = pool.role
            yield (
                f"gochat_db_{role}_pool_in_use",
                f"SQL connections of the {role} pool in use.",
                "gauge",
                pool.in_use,
            )
            yield (
                f"gochat_db_{role}_pool_overflow",
                f"SQL connections of the {role} pool beyond its size.",
                "gauge",
                pool.overflow,
            )
            yield (
                f"gochat_db_{role}_pool_waits",
                f"Checkouts from the {role} pool that found no idle connection.",
                "counter",
                pool.waits,
            )
            yield (
                f"gochat_db_{role}_pool_wait_seconds",
                "Time those checkouts took to get a connection (one coming back, or a new one).",
                "counter",
                pool.wait_seconds,
            )


def embedded_sfu_of(settings: Settings) -> EmbeddedSfu | None:
    """The SFU `gochat serve` runs on its own port when discovery is in-process (no etcd):
    voice works after the one command. Imported only then (aiortc is large)."""
    if not settings.sfu_embedded or settings.discovery_url is not None:
        return None
    from gochat.sfu.server import EmbeddedSfu  # noqa: PLC0415 - only when voice is embedded

    return EmbeddedSfu(settings)


def create_app(settings: Settings, *, span_exporter: SpanExporter | None = None) -> Starlette:
    """The application; traced as the settings say, or into `span_exporter` (tests)."""
    tracing = Tracing.from_settings(settings, exporter=span_exporter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            build_services(settings, tracing=tracing) as services,
            open_readiness_checks(settings, services) as checks,
        ):
            app.state.services = services
            app.state.media_fetcher = media_fetcher(settings)
            hub = Hub(
                services.bus, services.audience, observers=[services.guild_access.on_published]
            )
            app.state.hub = hub
            app.state.live = live
            guard = SessionGuard(services.bus, services.accounts, live)
            await guard.start()
            # Everything built so far, and what survives each full pass, lives long: keep it
            # out of the collector's full passes (pauses that show as tail latency).
            pacing = CollectorPacing(full_interval_seconds=settings.gc_full_interval_seconds)
            pacing.start()
            readiness = Readiness(checks)
            readiness.start()
            app.state.readiness = readiness
            if embedded_sfu is not None:
                await embedded_sfu.start(services.bus, registry=services.sfu_registry)
            log.info("gochat.started", database=settings.effective_database_url().split(":")[0])
            try:
                yield
            finally:
                if embedded_sfu is not None:
                    await embedded_sfu.stop()
                await readiness.close()
                pacing.stop()
                await guard.close()
                await live.close()
                await hub.close()

    embedded_sfu = embedded_sfu_of(settings)
    schema = build_schema(
        max_depth=settings.graphql_max_depth,
        max_tokens=settings.graphql_max_tokens,
        max_aliases=settings.graphql_max_aliases,
        introspection=settings.graphql_introspection,
        document_cache_size=settings.graphql_document_cache_size,
        tracer=None if tracing is None else tracing.tracer,
    )
    graphql = GoChatGraphQL(settings, schema)
    live = LiveEndpoint(
        schema,
        WsSettings(
            connection_init_timeout_seconds=settings.ws_connection_init_timeout_seconds,
            max_operations=settings.ws_max_subscriptions_per_connection,
            keepalive_seconds=settings.ws_keepalive_seconds,
            max_outbox_frames=settings.ws_max_outbox_frames,
            allowed_origins=tuple(settings.cors_allowed_origins),
            fanout=settings.ws_fanout,
            trust_forwarded_for=settings.trust_forwarded_for,
            max_message_bytes=settings.request_max_bytes,
        ),
        validation_rules=schema.live_validation_rules,
        max_tokens=schema.live_max_tokens,
        document_cache_size=settings.graphql_document_cache_size,
    )
    live.on_open.append(report_presence)
    live.on_close.append(end_presence)
    guard_options: dict[str, Any] = {
        "max_body_bytes": settings.request_max_bytes,
        "unlimited_prefixes": UNLIMITED_BODY_PREFIXES,
    }
    middleware = [Middleware(RequestGuard, **guard_options)]
    if tracing is not None:
        middleware.insert(0, Middleware(HttpTracing, tracing=tracing))
    if settings.cors_allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allowed_origins,
                allow_methods=["GET", "POST", "PUT", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-request-id"],
            )
        )
    live_route = WebSocketRoute("/graphql", live)
    app = GoChatApp(
        live_route=live_route,
        live_entry=RequestGuard(live, **guard_options),
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            live_route,
            Route("/health", health),
            Route("/ready", ready),
            *([Route("/metrics", serve_metrics)] if settings.metrics_enabled else []),
            *file_routes,
            *media_proxy_routes,
            *pages.routes(),
            *(embedded_sfu.routes() if embedded_sfu is not None else []),
            *([static_mount()] if settings.graphiql else []),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    # Set by the server when it is told to stop: /ready fails from then on.
    app.state.draining = False
    return app
