"""OpenTelemetry traces: a sendMessage and the worker handling of its event are one trace, with
the operation's SQL (and Redis, at scale) under the operation's span; embedded the event goes
through the job table, at scale through NATS."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.engines import NatsServer, RedisServer
from tests.support.guilds import make_world
from tests.support.server import RunningServer, run_server

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def server(
    database_url: str,
    tmp_path: Path,
    settings_overrides: dict[str, Any],
    spans: InMemorySpanExporter,
) -> AsyncIterator[RunningServer]:
    settings = make_settings(database_url, tmp_path / "data", **settings_overrides)
    async with run_server(settings, span_exporter=spans) as running:
        yield running


def operation_span(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [s for s in spans.get_finished_spans() if s.name == name]
    assert len(found) == 1, [s.name for s in spans.get_finished_spans()]
    [span] = found
    return span


async def worker_span_of(
    spans: InMemorySpanExporter, worker: str, trace_id: int, *, timeout: float = 30
) -> ReadableSpan:
    async with asyncio.timeout(timeout):
        while True:
            for span in spans.get_finished_spans():
                context = span.context
                if span.name == f"{worker} process" and context and context.trace_id == trace_id:
                    return span
            await asyncio.sleep(0.05)


def children(spans: InMemorySpanExporter, parent: ReadableSpan, scope: str) -> list[ReadableSpan]:
    assert parent.context is not None
    return [
        s
        for s in spans.get_finished_spans()
        if s.parent is not None
        and s.parent.span_id == parent.context.span_id
        and s.instrumentation_scope is not None
        and s.instrumentation_scope.name.startswith(scope)
    ]


async def send_and_follow(client: GraphQLClient, spans: InMemorySpanExporter) -> ReadableSpan:
    """Sends a message; returns the operation's span once the indexer's span, handling
    the MessageCreated it published, was found in the same trace as its child."""
    # The test's client shares the server's process, whose httpx is instrumented: its
    # requests would come with a traceparent of their own (of a span never sampled).
    with suppress_http_instrumentation():
        w = await make_world(client)
        spans.clear()
        (await w.member.client.execute(SEND, {"c": w.text_id, "t": "traced"})).ok()
    operation = operation_span(spans, "mutation sendMessage")
    assert operation.context is not None
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.type"] == "mutation"
    # Under the HTTP request's server span.
    assert operation.parent is not None
    [request] = [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and s.context.span_id == operation.parent.span_id
    ]
    assert request.kind == SpanKind.SERVER
    worker = await worker_span_of(spans, "indexer", operation.context.trace_id)
    assert worker.kind == SpanKind.CONSUMER
    assert worker.parent is not None
    assert worker.parent.span_id == operation.context.span_id
    assert children(spans, operation, "opentelemetry.instrumentation.sqlalchemy")
    return operation


async def test_a_send_and_its_worker_handling_are_one_trace_through_the_job_table(
    client: GraphQLClient, spans: InMemorySpanExporter
) -> None:
    await send_and_follow(client, spans)


async def test_errors_mark_the_operation_span_with_their_codes(
    client: GraphQLClient, spans: InMemorySpanExporter, server: RunningServer
) -> None:
    async with httpx.AsyncClient() as http:
        with suppress_http_instrumentation():
            await http.post(f"{server.url}/graphql", json={"query": "query Who { me { id } }"})
            await http.post(f"{server.url}/graphql", json={"query": "{ me { id "})
    span = operation_span(spans, "query Who")
    assert span.attributes is not None
    assert span.attributes["graphql.error_codes"] == ("UNAUTHENTICATED",)
    assert not span.status.is_ok
    # A document that does not parse has no name to give its span, but fails it all the same.
    assert not operation_span(spans, "GraphQL operation").status.is_ok


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_over_nats_the_trace_travels_in_the_message_headers(
    nats_engine: NatsServer,
    redis_engine: RedisServer,
    database_url: str,
    tmp_path: Path,
    spans: InMemorySpanExporter,
) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", bus_url=nats_engine.url, redis_url=redis_engine.url
    )
    async with (
        run_server(settings, span_exporter=spans) as running,
        httpx.AsyncClient(timeout=30) as http,
    ):
        operation = await send_and_follow(GraphQLClient(running.url, http), spans)
    # Rate limits and presence live in Redis at scale: their calls are in the trace too.
    assert children(spans, operation, "opentelemetry.instrumentation.redis")


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP collector that keeps what it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CollectorHandler)
        self.received: list[tuple[str, str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _CollectorHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_with_an_otlp_endpoint_set_spans_reach_the_collector(
    collector: Collector, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        tmp_path / "data",
        otlp_endpoint=collector.url,
        otlp_service_name="gochat-test",
    )
    async with run_server(settings) as running, httpx.AsyncClient() as http:
        with suppress_http_instrumentation():
            await http.post(f"{running.url}/graphql", json={"query": "query Who { me { id } }"})
    # Stopping the server flushed the batch of spans to the collector.
    names: set[str] = set()
    for path, content_type, body in collector.received:
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}[
                "service.name"
            ]
            assert service == "gochat-test"
            names.update(s.name for scope in resource_spans.scope_spans for s in scope.spans)
    assert "query Who" in names
