"""Every series the Grafana dashboard queries is one GoChat exports: read from a running
server's /metrics (on PostgreSQL, as the compose stack runs), or, for series that only appear
once something happened (a retry, a slow consumer) or only in an SFU process, from what
gochat/metrics.py defines."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from gochat import metrics
from tests.ops.stack import DASHBOARD_FILE
from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.guilds import create_guild

EVENTS = "subscription { events { __typename } }"
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
SERIES = re.compile(r"\bgochat_[a-z0-9_]*[a-z0-9]\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


def queries(node: Any) -> Iterator[str]:
    """The PromQL of every panel target and template variable."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"expr", "definition", "query"} and isinstance(value, str):
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def dashboard_series() -> set[str]:
    dashboard = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return {name for query in queries(dashboard) for name in SERIES.findall(query)}


def defined_series() -> set[str]:
    """Sample names of the instruments in gochat/metrics.py, whether observed yet or not, and
    of the figures only `gochat sfu` exports (tests/sfu/test_cli.py scrapes those)."""
    names = set(metrics.SFU_FIGURES)
    for instrument in vars(metrics).values():
        if isinstance(instrument, MetricWrapperBase):
            for family in instrument.describe():
                names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


async def scraped_series(client: GraphQLClient) -> dict[str, float]:
    """Every sample name of the server's /metrics, with the sum of its values."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{client.base_url}/metrics")
    assert response.status_code == 200
    series: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            series[sample.name] = series.get(sample.name, 0.0) + sample.value
    return series


def test_the_dashboard_queries_every_kind_of_series() -> None:
    used = dashboard_series()
    for needed in (
        "gochat_graphql_operation_seconds_bucket",
        "gochat_graphql_errors_total",
        "gochat_ws_connections",
        "gochat_subscriptions",
        "gochat_fanout_deliveries_total",
        "gochat_ws_slow_consumers_total",
        "gochat_bus_publish_seconds_bucket",
        "gochat_outbox_backlog_age_seconds",
        "gochat_worker_lag_seconds_bucket",
        "gochat_worker_events_total",
        "gochat_db_write_pool_in_use",
        "gochat_presence_sessions",
        "gochat_sfu_rooms",
        "gochat_sfu_streams_forwarded",
        "gochat_sfu_packets_lost",
    ):
        assert needed in used, needed


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_every_series_the_dashboard_queries_is_exported(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    channel = (await create_guild(alice))["channels"][0]["id"]
    assert (await client.execute("{ me { id } }")).errors  # counts an UNAUTHENTICATED error
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        op = await ws.subscribe(EVENTS)
        await ws.barrier()
        (await alice.client.execute(SEND, {"c": channel, "t": "scraped"})).ok()
        assert (await ws.receive(op))["type"] == "next"
        # The media worker settles the message's event off the request path.
        async with asyncio.timeout(30):
            while "gochat_worker_lag_seconds_bucket" not in (
                exported := await scraped_series(client)
            ):
                await asyncio.sleep(0.1)

    missing = sorted(dashboard_series() - exported.keys() - defined_series())
    assert missing == []
    # Figures read only when scraped are not in the definitions: they were really exported.
    assert {"gochat_ws_connections", "gochat_db_write_pool_in_use"} <= exported.keys()
    assert exported["gochat_presence_sessions"] == 1  # the signed-in socket above
