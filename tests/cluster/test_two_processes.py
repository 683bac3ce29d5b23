"""Two `gochat serve` processes behave as one system: a change made through either reaches
subscribers connected to the other, through NATS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.cluster import Cluster, prime, profile_updated, subscribed, update_profile
from tests.support.factories import signed_up
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)


async def test_a_change_through_either_process_reaches_subscribers_on_both(
    cluster: Cluster,
) -> None:
    a, b = await cluster.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        alice = await signed_up(a.client(http))  # her token is valid on both (one JWT key)
        via_a, via_b = a.client(http, alice.token), b.client(http, alice.token)
        async with subscribed(a, alice.token) as on_a, subscribed(b, alice.token) as on_b:
            # Live on each process: its own changes come back through the bus.
            await prime(on_a, lambda label: update_profile(via_a, label))
            await prime(on_b, lambda label: update_profile(via_b, label))

            await update_profile(via_a, "Alice via A")
            await on_b.wait_for(profile_updated("Alice via A"), timeout=20)
            await on_a.wait_for(profile_updated("Alice via A"), timeout=20)

            await update_profile(via_b, "Alice via B")
            await on_a.wait_for(profile_updated("Alice via B"), timeout=20)
            await on_b.wait_for(profile_updated("Alice via B"), timeout=20)

        # Both read the same state.
        for client in (via_a, via_b):
            me = (await client.execute("{ me { displayName } }")).ok()
            assert me == {"me": {"displayName": "Alice via B"}}


EVENTS_WITH_MESSAGES = """subscription { events { __typename
  ... on UserUpdated { user { id displayName } }
  ... on MessageCreated { message { content channelId } } } }"""


def message_created(content: str) -> Callable[[dict[str, Any]], bool]:
    def matches(event: dict[str, Any]) -> bool:
        return (
            event.get("__typename") == "MessageCreated" and event["message"]["content"] == content
        )

    return matches


async def test_a_message_sent_through_one_process_reaches_a_member_on_the_other(
    cluster: Cluster,
) -> None:
    a, b = await cluster.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        member_on_b = b.client(http, world.member.token)
        owner_on_a = a.client(http, world.owner.token)
        async with subscribed(b, world.member.token, EVENTS_WITH_MESSAGES) as on_b:
            await prime(on_b, lambda label: update_profile(member_on_b, label))
            sent = await owner_on_a.execute(
                'mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "from A"}) { message { id } } }',
                {"c": world.text_id},
            )
            sent.ok()
            event = await on_b.wait_for(message_created("from A"), timeout=20)
    assert event["message"]["channelId"] == world.text_id
