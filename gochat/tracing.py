"""OpenTelemetry traces: exported over OTLP/HTTP when GOCHAT_OTLP_ENDPOINT is set.

Unset (the default), nothing here runs: no tracer provider is built, no library is
instrumented, and every place that could trace is handed None and skips it, so requests pay
nothing. Set, a trace covers an HTTP request (its GraphQL operation, the SQL, Redis and httpx
calls made for it) and follows the events it published into the background workers: the
publisher stamps each envelope with the W3C `traceparent` of the change that produced it, the
envelope carries it (a NATS header; a column of the embedded job table) and the worker's span
continues that trace.

Traces start only at requests and worker batches. A client call outside both (an outbox relay
or presence poll, a job claim, a batched commit shared by several requests) would otherwise make
a trace of one span every few seconds; those are dropped by the sampler.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from gochat.bus import Envelope
from gochat.config import Settings

TRACEPARENT = "traceparent"
# Probes and scrapes are not requests worth a trace.
UNTRACED_PATHS = "/health,/ready,/metrics"

_PROPAGATOR = TraceContextTextMapPropagator()


class _RequestsAndJobs(Sampler):
    """Roots only for requests and worker batches; a client span without a parent is the
    background noise described above."""

    def should_sample(  # noqa: PLR0917 - the SDK calls it positionally
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "RequestsAndJobs"


def otlp_traces_url(endpoint: str) -> str:
    """The collector's traces URL from its base URL (as OTEL_EXPORTER_OTLP_ENDPOINT names it)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


class Tracing:
    """The process's tracer provider and the instrumentation it installed."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("gochat")
        self._started = False

    @classmethod
    def from_settings(
        cls, settings: Settings, *, exporter: SpanExporter | None = None
    ) -> Tracing | None:
        """None when tracing is off: no endpoint set and no `exporter` given (tests pass an
        in-memory one, exported span by span so a test sees a span as soon as it ended)."""
        processor: SpanProcessor
        if exporter is not None:
            processor = SimpleSpanProcessor(exporter)
        elif settings.otlp_endpoint:
            # Imported only when used: the exporter pulls in protobuf and requests.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            processor = BatchSpanProcessor(
                OTLPSpanExporter(endpoint=otlp_traces_url(settings.otlp_endpoint))
            )
        else:
            return None
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: settings.otlp_service_name}),
            sampler=ParentBased(root=_RequestsAndJobs()),
        )
        provider.add_span_processor(processor)
        return cls(provider)

    def start(self, engines: Sequence[AsyncEngine]) -> None:
        """Instrument httpx, Redis and the SQL engines (asyncpg and aiosqlite statements alike,
        as SQLAlchemy runs them; instrumenting asyncpg as well would trace each twice)."""
        if self._started:
            return
        # The instrumentations load with tracing: they import their libraries (redis among
        # them) whether or not this process uses them.
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415
        from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor  # noqa: PLC0415

        self._started = True
        if importlib.util.find_spec("httpx") is not None:  # a client library, when installed
            HTTPXClientInstrumentor().instrument(tracer_provider=self.provider)
        RedisInstrumentor().instrument(tracer_provider=self.provider)
        unique = {id(e.sync_engine): e.sync_engine for e in engines}
        # Its declared range stops below SQLAlchemy 2.1, whose engine events it hooks are
        # unchanged; without skipping the check it would instrument nothing.
        SQLAlchemyInstrumentor().instrument(
            engines=list(unique.values()), tracer_provider=self.provider, skip_dep_check=True
        )

    def close(self) -> None:
        """Remove the instrumentation and export what is left."""
        if self._started:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415
            from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415
            from opentelemetry.instrumentation.sqlalchemy import (  # noqa: PLC0415
                SQLAlchemyInstrumentor,
            )

            self._started = False
            SQLAlchemyInstrumentor().uninstrument()
            RedisInstrumentor().uninstrument()
            if HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
                HTTPXClientInstrumentor().uninstrument()
        self.provider.shutdown()

    @contextlib.contextmanager
    def worker_span(self, worker: str, envelopes: Sequence[Envelope]) -> Iterator[trace.Span]:
        """The span of one batch a worker handles: a child of the first event's trace (a
        batch is nearly always one event, or events of one change), linked to every other."""
        contexts = [_PROPAGATOR.extract({TRACEPARENT: e.trace}) for e in envelopes if e.trace]
        links = [
            Link(span_context)
            for ctx in contexts[1:]
            if (span_context := trace.get_current_span(ctx).get_span_context()).is_valid
        ]
        with self.tracer.start_as_current_span(
            f"{worker} process",
            context=contexts[0] if contexts else otel_context.Context(),
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "gochat.worker": worker,
                "messaging.batch.message_count": len(envelopes),
                "gochat.event_ids": [e.event_id for e in envelopes],
            },
        ) as span:
            yield span


class HttpTracing:
    """A server span per HTTP request (continuing the caller's `traceparent`). WebSockets are
    left alone: one span as long as a socket lives would say nothing."""

    def __init__(self, app: ASGIApp, *, tracing: Tracing) -> None:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415

        self._app = app
        self._traced = OpenTelemetryMiddleware(
            app,
            tracer_provider=tracing.provider,
            excluded_urls=UNTRACED_PATHS,
            exclude_spans=["receive", "send"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._traced(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def stamp(envelopes: Sequence[Envelope]) -> Sequence[Envelope]:
    """The envelopes with the current trace context, for whoever handles them later."""
    carrier: dict[str, Any] = {}
    _PROPAGATOR.inject(carrier)
    traceparent = carrier.get(TRACEPARENT, "")
    if not traceparent:
        return envelopes
    return [dataclasses.replace(e, trace=traceparent) for e in envelopes]


__all__ = ["TRACEPARENT", "HttpTracing", "Tracing", "otlp_traces_url", "stamp"]
