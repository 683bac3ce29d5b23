"""/metrics: Prometheus text, every series named gochat_..., with GraphQL latency and errors by
code, live sockets and subscriptions, fan-out deliveries and background workers' outcomes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_settings
from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.guilds import create_guild
from tests.support.server import run_server

EVENTS = "subscription { events { __typename } }"
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: GraphQLClient) -> tuple[list[str], Samples]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{client.base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    samples: Samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    return [f.name for f in families], samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_operations_errors_sockets_fanout_and_workers(
    client: GraphQLClient,
) -> None:
    _, before = await scrape(client)
    alice = await signed_up(client)
    guild = await create_guild(alice)
    channel = guild["channels"][0]["id"]
    assert (await client.execute("{ me { id } }")).errors  # signed out: UNAUTHENTICATED
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        op = await ws.subscribe(EVENTS)
        await ws.barrier()
        (await alice.client.execute(SEND, {"c": channel, "t": "counted"})).ok()
        assert (await ws.receive(op))["type"] == "next"

        names, during = await scrape(client)
        assert names and all(name.startswith("gochat_") for name in names), names
        assert value(during, "gochat_ws_connections") >= 1
        assert value(during, "gochat_subscriptions") >= 1

    sends = "gochat_graphql_operation_seconds_count"
    assert value(during, sends, type="mutation", field="sendMessage") == (
        value(before, sends, type="mutation", field="sendMessage") + 1
    )
    unauthenticated = value(during, "gochat_graphql_errors_total", code="UNAUTHENTICATED")
    assert (
        unauthenticated >= value(before, "gochat_graphql_errors_total", code="UNAUTHENTICATED") + 1
    )
    assert value(during, "gochat_fanout_deliveries_total") >= 1
    # How long the dispatched events took to come off the bus: summed, and the worst.
    lag = "gochat_bus_consume_lag_seconds_total"
    assert value(during, lag) > value(before, lag)
    assert ("gochat_bus_consume_lag_max_seconds", ()) in during
    assert value(during, "gochat_bus_published_events_total") > value(
        before, "gochat_bus_published_events_total"
    )
    assert value(during, "gochat_process_resident_memory_bytes") > 0

    # The indexer handles the message's event off the request path.
    handled = "gochat_worker_events_total"
    async with asyncio.timeout(30):
        while True:
            _, after = await scrape(client)
            if value(after, handled, worker="indexer", outcome="handled") > value(
                before, handled, worker="indexer", outcome="handled"
            ):
                break
            await asyncio.sleep(0.1)
    assert value(after, "gochat_worker_lag_seconds_count", worker="indexer") >= 1


async def test_a_client_cannot_grow_the_label_set(client: GraphQLClient) -> None:
    (await client.execute("{ noSuchField1234 }"))
    _, samples = await scrape(client)
    assert not any("noSuchField1234" in str(labels) for _, labels in samples)


async def test_checkouts_that_wait_for_a_connection_are_counted(
    database_url: str, tmp_path: Path
) -> None:
    """One connection for writes (SQLite's writer; PostgreSQL's pool at size 1): concurrent
    sends queue for it, and /metrics says how many waited and for how long."""
    settings = make_settings(database_url, tmp_path / "data", database_pool_size=1)
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server.url, http)
        alice = await signed_up(client)
        channel = (await create_guild(alice))["channels"][0]["id"]
        _, before = await scrape(client)
        sends = (alice.client.execute(SEND, {"c": channel, "t": f"m{n}"}) for n in range(12))
        for result in await asyncio.gather(*sends):
            result.ok()
        _, after = await scrape(client)
    waits, seconds = "gochat_db_write_pool_waits_total", "gochat_db_write_pool_wait_seconds_total"
    assert value(after, waits) > value(before, waits)
    assert value(after, seconds) > value(before, seconds)
