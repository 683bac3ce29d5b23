"""A process that dies after a change committed and before its event was published
(GOCHAT_FAULT_INJECTION=crash-before-publish): once it is back, the outbox relay delivers the
event, and the GOCHAT_EVENTS stream holds it exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import UPDATE_PROFILE, running_cluster, stream_payloads
from tests.support.engines import NatsServer, RedisServer
from tests.support.factories import signed_up

pytestmark = pytest.mark.timeout(240)

CRASH_EXIT_STATUS = 70  # README, GOCHAT_FAULT_INJECTION
# GOCHAT_OUTBOX_RELAY_GRACE_SECONDS=1 and _INTERVAL_SECONDS=0.2 in the cluster helper.
RELAY_PASSES_SECONDS = 1.2


async def copies_of(nats_url: str, subject: str, display_name: str) -> int:
    marker = f'"display_name":"{display_name}"'.encode()
    return sum(marker in payload for payload in await stream_payloads(nats_url, subject))


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_an_event_lost_to_a_crash_before_publish_is_relayed_exactly_once(
    database_url: str, nats_engine: NatsServer, redis_engine: RedisServer, tmp_path: Path
) -> None:
    async with (
        running_cluster(
            tmp_path / "cluster",
            database_url=database_url,
            bus_url=nats_engine.url,
            redis_url=redis_engine.url,
        ) as cluster,
        httpx.AsyncClient(timeout=30) as http,
    ):
        # Signing up and in publishes nothing, so the fault is armed from the start.
        node = cluster.add(fault_injection="crash-before-publish")
        await node.start()
        alice = await signed_up(node.client(http))
        subject = f"gochat.user.{alice.id}"

        with pytest.raises(httpx.TransportError):  # the process dies mid-request
            await http.post(
                f"{node.url}/graphql",
                json={"query": UPDATE_PROFILE, "variables": {"n": "Crashed Alice"}},
                headers={"authorization": f"Bearer {alice.token}"},
            )
        assert await node.wait_exited(timeout=30) == CRASH_EXIT_STATUS, node.log_tail()
        assert "fault.crash_before_publish" in node.log_tail()
        assert await copies_of(nats_engine.url, subject, "Crashed Alice") == 0

        await node.restart(env={"GOCHAT_FAULT_INJECTION": None})
        # The change had committed before the crash.
        me = await node.client(http, alice.token).execute("{ me { displayName } }")
        assert me.ok() == {"me": {"displayName": "Crashed Alice"}}

        async with asyncio.timeout(60):
            while await copies_of(nats_engine.url, subject, "Crashed Alice") == 0:
                await asyncio.sleep(0.1)
        await asyncio.sleep(RELAY_PASSES_SECONDS)  # further relay passes add nothing
        assert await copies_of(nats_engine.url, subject, "Crashed Alice") == 1
        assert "events.relayed" in node.log_tail()
