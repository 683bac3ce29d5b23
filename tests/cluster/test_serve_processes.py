"""`gochat serve --workers N`: N API processes on one port, each with its own worker id, sharing
the bus (an event sent through one reaches a subscriber of another) and one /metrics; SIGTERM to
the parent stops them all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gochat.ids import SEQUENCE_BITS, WORKER_BITS
from tests.support.client import GraphQLClient, ws_connect
from tests.support.engines import NatsServer, RedisServer
from tests.support.factories import signed_up
from tests.support.guilds import create_guild

pytestmark = pytest.mark.timeout(240)

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
EVENTS = "subscription { events { __typename ... on MessageCreated { message { id } } } }"
SENDS = 16


def worker_of(snowflake: str) -> int:
    return (int(snowflake) >> SEQUENCE_BITS) & ((1 << WORKER_BITS) - 1)


async def test_two_processes_share_one_port_the_bus_and_the_metrics(
    postgres_database: str, nats_engine: NatsServer, redis_engine: RedisServer, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GOCHAT_", "PROMETHEUS_"))},
        "GOCHAT_DATABASE_URL": postgres_database,
        "GOCHAT_BUS_URL": nats_engine.url,
        "GOCHAT_REDIS_URL": redis_engine.url,
        "GOCHAT_DATA_DIR": str(tmp_path / "data"),
        "GOCHAT_WORKER_ID": "40",
        "GOCHAT_JWT_SECRET": "processes-secret-0123456789abcdef0123456789",
        "GOCHAT_RATE_REGISTER_PER_IP": "100000/3600",
        "GOCHAT_RATE_LOGIN_PER_IP": "100000/60",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        parent = subprocess.Popen(
            [sys.executable, "-m", "gochat", "serve", "--workers", "2", "--port", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        async with asyncio.timeout(60):
            while not (
                match := re.search(r"2 processes listening on (http://\S+)", log_path.read_text())
            ):
                assert parent.poll() is None, log_path.read_text()
                await asyncio.sleep(0.05)
        url = match[1]
        async with asyncio.timeout(120):
            while True:
                try:
                    async with httpx.AsyncClient(timeout=5) as http:
                        if (await http.get(f"{url}/ready")).status_code == 200:
                            break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

        async with httpx.AsyncClient(timeout=30) as http:
            alice = await signed_up(GraphQLClient(url, http))
            channel = (await create_guild(alice))["channels"][0]["id"]
            async with ws_connect(
                url.replace("http", "ws") + "/graphql", payload={"authorization": alice.token}
            ) as ws:
                op = await ws.subscribe(EVENTS)
                await ws.barrier()
                sent = []
                for i in range(SENDS):
                    # A new connection each time: the kernel spreads them over the processes.
                    async with httpx.AsyncClient(timeout=30) as fresh:
                        client = GraphQLClient(url, fresh, alice.token)
                        result = await client.execute(SEND, {"c": channel, "t": f"m{i}"})
                        sent.append(result.ok()["sendMessage"]["message"]["id"])
                assert {worker_of(i) for i in sent} == {40, 41}
                received = set()
                while not set(sent) <= received:
                    payload = (await ws.receive(op))["payload"]["data"]["events"]
                    if payload["__typename"] == "MessageCreated":
                        received.add(payload["message"]["id"])

            metrics = (await http.get(f"{url}/metrics")).text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics)
            for s in family.samples
        }
        key = (
            "gochat_graphql_operation_seconds_count",
            (("field", "sendMessage"), ("type", "mutation")),
        )
        assert samples[key] == SENDS  # summed over both processes

        parent.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            assert await asyncio.to_thread(parent.wait) == 0, log_path.read_text()[-3000:]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
