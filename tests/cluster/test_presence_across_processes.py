"""Presence across processes on one Redis (a server, or a Redis Cluster) and NATS: a connection
on one process is seen from the other, a status set through either applies to the user's
connections wherever they are, and a process that dies takes its users offline once their
sessions lapse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.client import ws_connect
from tests.support.cluster import Cluster, prime, subscribed, update_profile
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

EVENTS = """subscription { events { __typename
  ... on UserUpdated { user { id displayName } }
  ... on PresenceUpdated { presence { userId status customStatus } } } }"""

PRESENCES = "query($u: [ID!]!) { presences(userIds: $u) { status customStatus } }"
SET = """mutation($s: PresenceStatus!, $c: String) {
  setPresence(input: {status: $s, customStatus: $c}) { presence { status } } }"""


def shows(user_id: str, status: str) -> Callable[[dict[str, Any]], bool]:
    def matches(event: dict[str, Any]) -> bool:
        return (
            event.get("__typename") == "PresenceUpdated"
            and event["presence"]["userId"] == user_id
            and event["presence"]["status"] == status
        )

    return matches


async def test_presence_set_on_one_process_is_visible_from_the_other(
    cluster_on_either_redis: Cluster,
) -> None:
    cluster = cluster_on_either_redis
    a, b = await cluster.start(2, presence_ttl_seconds="3", presence_sweep_interval_seconds="0.2")
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        owner = world.owner.id
        member_on_a = a.client(http, world.member.token)
        async with subscribed(a, world.member.token, EVENTS) as on_a:
            await prime(on_a, lambda label: update_profile(member_on_a, label))
            init = {"authorization": f"Bearer {world.owner.token}", "presence": {"status": "DND"}}
            async with ws_connect(b.ws_url, payload=init):
                await on_a.wait_for(shows(owner, "DND"), timeout=20)
                shown = (await member_on_a.execute(PRESENCES, {"u": [owner]})).ok()
                assert shown["presences"] == [{"status": "DND", "customStatus": None}]

                # Set through A; the owner's only connection lives on B.
                owner_on_a = a.client(http, world.owner.token)
                (await owner_on_a.execute(SET, {"s": "IDLE", "c": "brb"})).ok()
                event = await on_a.wait_for(shows(owner, "IDLE"), timeout=20)
                assert event["presence"]["customStatus"] == "brb"
                shown = (
                    await b.client(http, world.member.token).execute(PRESENCES, {"u": [owner]})
                ).ok()
                assert shown["presences"] == [{"status": "IDLE", "customStatus": "brb"}]

                # B dies with the connection open: nothing closes it cleanly.
                await b.kill()
                # A's sweeper announces the lapse once the 3 s TTL has run out.
                await on_a.wait_for(shows(owner, "OFFLINE"), timeout=30)
        shown = (await member_on_a.execute(PRESENCES, {"u": [owner]})).ok()
        assert shown["presences"] == [{"status": "OFFLINE", "customStatus": None}]
