"""Live delivery keeps each channel's messages in id order, even when one author's sends
overlap (they are committed in shared transactions, in whichever order those finish)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest

from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

CONCURRENT = 50

EVENTS = """subscription { events { __typename
  ... on MessageCreated { message { id content } } } }"""

CHANNEL = """subscription($c: ID!) { channelEvents(channelId: $c) { __typename
  ... on MessageCreated { message { id content } } } }"""

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


async def messages_until(
    ws: WsSession, op: str, wanted: set[str], *, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Every MessageCreated of the operation, in arrival order, until all `wanted` contents
    arrived."""
    arrived: list[dict[str, Any]] = []
    missing = set(wanted)
    async with asyncio.timeout(timeout):
        while missing:
            message = await ws.receive(op, timeout=timeout)
            assert message["type"] == "next", message
            event = next(iter(message["payload"]["data"].values()))
            if event["__typename"] == "MessageCreated":
                arrived.append(event["message"])
                missing.discard(event["message"]["content"])
    return arrived


def assert_in_id_order(arrived: list[dict[str, Any]]) -> None:
    ids = [int(m["id"]) for m in arrived]
    late = [(a, b) for a, b in itertools.pairwise(ids) if b <= a]
    assert not late, f"{len(late)} of {len(ids)} arrived after a newer message: {late[:5]}"


async def test_overlapping_sends_of_one_author_arrive_in_id_order(client: GraphQLClient) -> None:
    world = await make_world(client)
    author = world.owner.client
    async with ws_connect(
        client.ws_url, payload={"authorization": f"Bearer {world.member.token}"}
    ) as ws:
        events_op = await ws.subscribe(EVENTS)
        channel_op = await ws.subscribe(CHANNEL, {"c": world.text_id})
        # Live once a probe arrives on both operations (repeated: a send made before the
        # subscription listens is not delivered).
        async with asyncio.timeout(60):
            while True:
                probe = f"probe {uuid.uuid4().hex}"
                (await author.execute(SEND, {"c": world.text_id, "t": probe})).ok()
                try:
                    await messages_until(ws, events_op, {probe}, timeout=2)
                    await messages_until(ws, channel_op, {probe}, timeout=2)
                    break
                except TimeoutError:
                    continue

        contents = [f"overlap {i}" for i in range(CONCURRENT)]
        results = await asyncio.gather(
            *(author.execute(SEND, {"c": world.text_id, "t": text}) for text in contents)
        )
        for result in results:
            result.ok()
        on_events = await messages_until(ws, events_op, set(contents))
        on_channel = await messages_until(ws, channel_op, set(contents))
    assert_in_id_order(on_events)
    assert_in_id_order(on_channel)
    assert {m["content"] for m in on_events} >= set(contents)
