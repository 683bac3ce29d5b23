"""What a live subscription keeps per delivered event: nothing once the event is out.

An open subscription that receives events at a steady rate must not grow. The bound is
checked on state, not time: the per-operation structures of the server's hub are measured
after a first batch of events and again after a second, larger one.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from gochat.subscriptions.hub import Hub
from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.guilds import make_world
from tests.support.server import RunningServer

pytestmark = pytest.mark.timeout(180)

# Nested objects (message, author) as a client's event stream selects them.
EVENTS = """subscription { events { __typename
  ... on MessageCreated { message { id content author { id handle } mentions { everyone } } } } }"""

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


async def received(ws: WsSession, op: str, wanted: set[str], *, timeout: float = 60.0) -> None:
    missing = set(wanted)
    async with asyncio.timeout(timeout):
        while missing:
            message = await ws.receive(op, timeout=timeout)
            assert message["type"] == "next", message
            event = message["payload"]["data"]["events"]
            if event["__typename"] == "MessageCreated":
                missing.discard(event["message"]["content"])


def held_per_operation(hub: Hub) -> int:
    """Entries the hub's live operations hold in their executors' memo of subfields."""
    operations: list[Any] = [op for topic in hub._topics.values() for op in topic.operations]
    assert operations
    return sum(len(op.executor._relevant_sub_fields) for op in operations)


async def test_a_long_lived_subscription_does_not_grow_with_the_events_it_delivers(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    author = world.owner.client

    async def send_batch(count: int) -> None:
        contents = {f"m {uuid.uuid4().hex}" for _ in range(count)}
        for text in contents:
            (await author.execute(SEND, {"c": world.text_id, "t": text})).ok()
        await received(ws, op, contents)

    async with ws_connect(
        client.ws_url, payload={"authorization": f"Bearer {world.member.token}"}
    ) as ws:
        op = await ws.subscribe(EVENTS)
        async with asyncio.timeout(60):
            while True:  # live once a probe arrives
                probe = f"probe {uuid.uuid4().hex}"
                (await author.execute(SEND, {"c": world.text_id, "t": probe})).ok()
                try:
                    await received(ws, op, {probe}, timeout=2)
                    break
                except TimeoutError:
                    continue
        hub: Hub = server.app.state.hub
        await send_batch(20)
        after_warm_up = held_per_operation(hub)
        await send_batch(100)
        assert held_per_operation(hub) <= after_warm_up
