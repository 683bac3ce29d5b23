"""Across two processes (PostgreSQL, NATS, Redis): a channel's messages reach subscribers of
the other process in id order, and presence is announced only when it changes, whichever
process a connection lives on."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import httpx
import pytest

from tests.support.client import WsSession, ws_connect
from tests.support.cluster import Cluster
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

CONCURRENT = 50

EVENTS = """subscription { events { __typename
  ... on MessageCreated { message { id content } } } }"""

CHANNEL = """subscription($c: ID!) { channelEvents(channelId: $c) { __typename
  ... on MessageCreated { message { id content } } } }"""

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""

WATCH = """subscription($u: [ID!]!) { presence(userIds: $u) { __typename
  ... on PresenceUpdated { presence { userId status } } } }"""

SET = (
    """mutation($s: PresenceStatus!) { setPresence(input: {status: $s}) { presence { status } } }"""
)


async def messages_until(
    ws: WsSession, op: str, wanted: set[str], *, timeout: float = 60.0
) -> list[dict[str, Any]]:
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


def late_ones(arrived: list[dict[str, Any]]) -> list[tuple[int, int]]:
    ids = [int(m["id"]) for m in arrived]
    return [(a, b) for a, b in itertools.pairwise(ids) if b <= a]


async def test_overlapping_sends_reach_the_other_process_in_id_order(cluster: Cluster) -> None:
    a, b = await cluster.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        author = a.client(http, world.owner.token)
        init = {"authorization": f"Bearer {world.member.token}"}
        async with ws_connect(b.ws_url, payload=init) as ws:
            events_op = await ws.subscribe(EVENTS)
            channel_op = await ws.subscribe(CHANNEL, {"c": world.text_id})
            async with asyncio.timeout(60):
                while True:  # live on B's bus subscriptions once a probe arrives on both
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
                *(author.execute(SEND, {"c": world.text_id, "t": t}) for t in contents)
            )
            for result in results:
                result.ok()
            on_events = await messages_until(ws, events_op, set(contents))
            on_channel = await messages_until(ws, channel_op, set(contents))
    assert late_ones(on_events) == []
    assert late_ones(on_channel) == []


async def next_status(ws: WsSession, op: str) -> str:
    message = await ws.receive(op, timeout=15)
    assert message["type"] == "next", message
    status: str = message["payload"]["data"]["presence"]["presence"]["status"]
    return status


async def test_a_second_connection_on_the_other_process_announces_nothing(
    cluster: Cluster,
) -> None:
    a, b = await cluster.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        owner_init = {"authorization": f"Bearer {world.owner.token}"}
        async with ws_connect(
            a.ws_url, payload={"authorization": f"Bearer {world.member.token}"}
        ) as watcher:
            op = await watcher.subscribe(WATCH, {"u": [world.owner.id]})
            assert await next_status(watcher, op) == "OFFLINE"  # the snapshot
            async with ws_connect(a.ws_url, payload=owner_init):
                assert await next_status(watcher, op) == "ONLINE"
                async with ws_connect(b.ws_url, payload=owner_init):  # still ONLINE
                    # B has announced by the time this returns: the connection is
                    # acknowledged after its presence is reported.
                    owner_on_b = b.client(http, world.owner.token)
                    (await owner_on_b.execute(SET, {"s": "DND"})).ok()
                    assert await next_status(watcher, op) == "DND"
