"""NATS restarts under a running cluster: subscribers keep their WebSocket and their stream, and a
change made while NATS is down is delivered late or announced as a resync, never lost silently.

One test for both, because a two-process cluster takes seconds to start."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.cluster import (
    Cluster,
    EventStream,
    prime,
    profile_updated,
    subscribed,
    update_profile,
)
from tests.support.engines import NatsServer
from tests.support.factories import signed_up

# Two process starts and a 5 s publish timeout, with room for a busy CI machine.
pytestmark = pytest.mark.timeout(240)

# From NATS being back to the event (or ResyncRequired) on the client: client reconnect backoff
# (jittered, up to 5 s), relay grace (1 s here) and relay interval (0.2 s here), with room to spare.
RECOVERY_SECONDS = 20


async def primed(stream: EventStream, client: GraphQLClient, *, timeout: float = 10) -> None:
    await prime(stream, lambda label: update_profile(client, label), timeout=timeout)


def delivered_or_resync(display_name: str) -> Any:
    delivered = profile_updated(display_name)

    def matches(event: dict[str, Any]) -> bool:
        return delivered(event) or event.get("__typename") == "ResyncRequired"

    return matches


async def test_subscribers_on_both_processes_outlive_a_nats_restart_and_outage(
    cluster_on_own_nats: Cluster, own_nats: NatsServer
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        a, b = await cluster_on_own_nats.start(2)
        alice = await signed_up(a.client(http))
        via_a, via_b = a.client(http, alice.token), b.client(http, alice.token)
        async with subscribed(a, alice.token) as on_a, subscribed(b, alice.token) as on_b:
            await primed(on_a, via_a)
            await primed(on_b, via_b)

            # 1. A restart (same port, same JetStream directory). The same sockets and
            # subscriptions carry events again once each process is back on NATS; a change
            # made before a process reconnected may reach its subscribers only as a
            # ResyncRequired (see 2.), hence the repeated probes.
            await asyncio.to_thread(own_nats.restart)
            await primed(on_a, via_a, timeout=RECOVERY_SECONDS)
            await primed(on_b, via_b, timeout=RECOVERY_SECONDS)
            for via, label in ((via_a, "after the restart, via A"), (via_b, "and via B")):
                await update_profile(via, label)
                for stream in (on_a, on_b):
                    await stream.wait_for(profile_updated(label), timeout=20)

            # 2. An outage. The change commits and is acknowledged to its caller although the
            # bus is unreachable; once NATS is back every subscriber gets the event (outbox
            # relay) or ResyncRequired, within a bound.
            await asyncio.to_thread(own_nats.stop)
            await update_profile(via_a, "during the outage")
            await asyncio.to_thread(own_nats.start)
            outcomes = {}
            for name, stream in (("A", on_a), ("B", on_b)):
                event = await stream.wait_for(
                    delivered_or_resync("during the outage"), timeout=RECOVERY_SECONDS
                )
                outcomes[name] = event["__typename"]
            assert set(outcomes.values()) <= {"UserUpdated", "ResyncRequired"}, outcomes

        me = (await via_b.execute("{ me { displayName } }")).ok()
        assert me == {"me": {"displayName": "during the outage"}}
