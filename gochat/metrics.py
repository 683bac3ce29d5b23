"""Prometheus metrics (prometheus-client), every series named `gochat_...`, served at /metrics.

Two kinds: instruments updated where something happens rarely enough to afford it (GraphQL
operations, bus publishes, worker batches, relay passes, slow consumers), defined here once;
and figures read only when scraped (fan-out counts the hub keeps as plain integers, open
sockets, database pools), so the per-event fan-out path pays nothing for them. With
PROMETHEUS_MULTIPROC_DIR set (several processes behind one port), the instruments are
aggregated across processes; scrape-time figures are the answering process's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

graphql_seconds = Histogram(
    "gochat_graphql_operation_seconds",
    "GraphQL operations over HTTP, by operation type and first root field.",
    ["type", "field"],
    buckets=LATENCY_BUCKETS,
)
graphql_errors = Counter(
    "gochat_graphql_errors",
    "Errors in GraphQL results, by extensions.code.",
    ["code"],
)
ws_slow_consumers = Counter(
    "gochat_ws_slow_consumers",
    "WebSockets closed because their outbox overflowed (the client resyncs).",
)
bus_published = Counter(
    "gochat_bus_published_events",
    "Envelopes handed to the event bus after commit.",
)
bus_publish_seconds = Histogram(
    "gochat_bus_publish_seconds",
    "Time to publish a batch of envelopes (on NATS: until JetStream stored them).",
    buckets=LATENCY_BUCKETS,
)
bus_publish_deferred = Counter(
    "gochat_bus_publish_deferred_events",
    "Envelopes whose publish failed and were left to the outbox relay.",
)
outbox_relayed = Counter(
    "gochat_outbox_relayed_events",
    "Envelopes the outbox relay republished (a publish failed, or a process died).",
)
outbox_backlog_age = Gauge(
    "gochat_outbox_backlog_age_seconds",
    "Age of the oldest outbox row the relay found on its last pass (0: none beyond grace).",
    multiprocess_mode="max",
)
worker_events = Counter(
    "gochat_worker_events",
    "Events settled by background workers, by worker kind and outcome.",
    ["worker", "outcome"],  # handled | skipped | retried | parked
)
worker_lag_seconds = Histogram(
    "gochat_worker_lag_seconds",
    "From an event's creation to its handling by a worker.",
    ["worker"],
    buckets=LAG_BUCKETS,
)


# What `gochat sfu` reads of its rooms when scraped (gochat/sfu/service.py), all gauges.
SFU_FIGURES = {
    "gochat_sfu_rooms": "Rooms (voice channels) with members on this SFU.",
    "gochat_sfu_members": "Members connected to this SFU.",
    "gochat_sfu_streams_received": "Media streams members send to this SFU.",
    "gochat_sfu_streams_forwarded": "Media streams this SFU forwards to members.",
    "gochat_sfu_packets_received": "RTP packets received on the streams open now.",
    "gochat_sfu_packets_lost": "RTP packets lost on their way in, on the streams open now.",
}


class ScrapeTimeFigures(Collector):
    """Figures one process keeps anyway, read when scraped: `read()` returns
    (name, documentation, kind, value) tuples, kind "counter" or "gauge"."""

    def __init__(self, read: Callable[[], Iterable[tuple[str, str, str, float]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        for name, documentation, kind, value in self._read():
            if kind == "counter":
                yield CounterMetricFamily(name, documentation, value=value)
            else:
                yield GaugeMetricFamily(name, documentation, value=value)


class MetricsEndpoint:
    """The exposition for one app: the shared instruments plus that app's own figures."""

    def __init__(self, figures: Collector) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            multiprocess.MultiProcessCollector(self._registry)  # type: ignore[no-untyped-call]
        else:
            self._registry.register(_Shared())
        self._registry.register(ProcessCollector(namespace="gochat", registry=None))
        self._registry.register(figures)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self._registry), CONTENT_TYPE_LATEST

    def serve_in_thread(self, host: str, port: int) -> Callable[[], None]:
        """Serve the exposition on host:port from a thread, for a process with no HTTP app
        (`gochat worker`); returns what stops it."""
        server, thread = start_http_server(port, host, registry=self._registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join()

        return stop


class _Shared(Collector):
    """The instruments above (the default registry also holds the library's own process and
    platform collectors, named without our prefix: those are left out)."""

    def collect(self) -> Iterator[Metric]:
        for metric in REGISTRY.collect():
            if metric.name.startswith("gochat_"):
                yield metric
