"""A `gochat worker` process has no API, so with GOCHAT_WORKER_METRICS_PORT it serves its own
/metrics for Prometheus: the worker series of the events it settled."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cluster import Cluster
from tests.support.engines import free_port
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


def handled(text: str, worker: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "gochat_worker_events_total"
        and s.labels == {"worker": worker, "outcome": "handled"}
    )


async def test_a_worker_process_serves_its_own_metrics(tmp_path: Path) -> None:
    cluster = Cluster(
        tmp_path / "nodes",
        database_url=f"sqlite:///{tmp_path / 'gochat.db'}",
        bus_url="memory://",
        redis_url=None,
    )
    node = cluster.add(workers_in_process="false")
    await node.start()
    port = free_port()
    env = {**node.env, "GOCHAT_WORKER_METRICS_PORT": str(port), "GOCHAT_HOST": "127.0.0.1"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gochat", "worker", "indexer", env=env
    )
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            w = await make_world(node.client(http))
            (await w.member.client.execute(SEND, {"c": w.text_id, "t": "settled"})).ok()
            async with asyncio.timeout(60):
                while True:
                    try:
                        response = await http.get(f"http://127.0.0.1:{port}/metrics")
                    except httpx.TransportError:
                        response = None  # not listening yet
                    if response is not None and handled(response.text, "indexer") >= 1:
                        break
                    await asyncio.sleep(0.1)
            assert response.headers["content-type"].startswith("text/plain")
            assert "gochat_process_resident_memory_bytes" in response.text
        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await worker.wait() == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        await node.stop()
