"""On NATS a change reaches live subscribers of every process at once, without waiting for the
GOCHAT_EVENTS stream to store it, and a channel's next message does not wait for that either.
While the stream holds its acknowledgements, or is gone, a subscriber on the other process
still gets each message of a channel, in id order and once. Events the stream could not store
stay in the outbox; once it is back the relay stores each of them once, and its republished
copies reach no subscriber a second time."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from nats.aio.msg import Msg

from tests.support.client import GraphQLClient
from tests.support.cluster import (
    STREAM,
    Cluster,
    EventStream,
    prime,
    stream_payloads,
    subscribed,
)
from tests.support.engines import NatsServer
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

COUNT = 20
# Far above the time a delivery takes here: the sends are still waiting for their stream
# acknowledgement when their messages arrive.
PUBLISH_TIMEOUT_SECONDS = 60
# Relay grace (1 s) and interval (0.2 s) in the cluster helper, with room for a slow machine.
RECOVERY_SECONDS = 30

EVENTS = """subscription { events { __typename
  ... on MessageCreated { message { id content } } } }"""
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


def message_created(content: str) -> Callable[[dict[str, Any]], bool]:
    def matches(event: dict[str, Any]) -> bool:
        return bool(
            event.get("__typename") == "MessageCreated" and event["message"]["content"] == content
        )

    return matches


async def send(client: GraphQLClient, channel_id: str, content: str) -> str:
    message_id: str = (await client.execute(SEND, {"c": channel_id, "t": content})).ok()[
        "sendMessage"
    ]["message"]["id"]
    return message_id


class HeldStream:
    """The store requests that reached the durable subjects while the stream was away."""

    def __init__(self) -> None:
        self.requests: list[Msg] = []

    async def hold(self, msg: Msg) -> None:
        self.requests.append(msg)


@asynccontextmanager
async def stream_away(nats_url: str, *, hold: bool) -> AsyncIterator[HeldStream]:
    """Take the stream away. With `hold`, take every store request in its place and answer
    none, as a stream slow to acknowledge would; otherwise each fails at once (no responders).
    On exit put the stream back (empty) and hand it the held requests, which it stores and
    acknowledges to their publishers."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    config = (await js.stream_info(STREAM)).config
    await js.delete_stream(STREAM)
    held = HeldStream()
    holders = [await nc.subscribe(s, cb=held.hold) for s in config.subjects or []] if hold else []
    await nc.flush()
    try:
        yield held
    finally:
        for holder in holders:
            await holder.unsubscribe()
        await js.add_stream(config)
        for request in held.requests:
            await nc.publish(request.subject, request.data, request.reply, request.headers)
        await nc.close()


async def created(stream: EventStream, count: int) -> list[dict[str, Any]]:
    """The next `count` MessageCreated events' messages, skipping other events."""
    arrived: list[dict[str, Any]] = []
    while len(arrived) < count:
        event = await stream.next(timeout=PUBLISH_TIMEOUT_SECONDS / 2)
        if event["__typename"] == "MessageCreated":
            arrived.append(event["message"])
    return arrived


def out_of_order(messages: list[dict[str, Any]]) -> list[tuple[int, int]]:
    ids = [int(m["id"]) for m in messages]
    return [(x, y) for x, y in itertools.pairwise(ids) if y <= x]


async def copies_in_stream(nats_url: str, subject: str, contents: list[str]) -> dict[str, int]:
    payloads = await stream_payloads(nats_url, subject)
    return {c: sum(f'"content":"{c}"'.encode() in p for p in payloads) for c in contents}


async def test_the_other_process_gets_each_message_at_once_while_the_stream_holds_its_ack(
    cluster_on_own_nats: Cluster, own_nats: NatsServer
) -> None:
    cluster = cluster_on_own_nats
    cluster.settings["bus_publish_timeout_seconds"] = str(PUBLISH_TIMEOUT_SECONDS)
    a, b = await cluster.start(2)
    async with httpx.AsyncClient(timeout=PUBLISH_TIMEOUT_SECONDS + 30) as http:
        world = await make_world(a.client(http))
        owner_on_a = a.client(http, world.owner.token)
        async with subscribed(b, world.member.token, EVENTS) as on_b:
            await prime(
                on_b, lambda label: send(owner_on_a, world.text_id, label), matcher=message_created
            )
            contents = [f"held {i}" for i in range(COUNT)]
            async with stream_away(own_nats.url, hold=True) as held:
                sends = [asyncio.create_task(send(owner_on_a, world.text_id, c)) for c in contents]
                arrived = await created(on_b, COUNT)
                # Every message went live while its publish still waited for the stream.
                assert not any(task.done() for task in sends)
                assert held.requests
            ids = await asyncio.gather(*sends)  # acknowledged once the stream took them

            assert sorted(m["content"] for m in arrived) == sorted(contents)
            assert sorted(m["id"] for m in arrived) == sorted(ids)
            assert out_of_order(arrived) == []
            stored = await copies_in_stream(
                own_nats.url, f"gochat.guild.{world.guild_id}", contents
            )
            assert set(stored.values()) == {1}


async def test_the_other_process_gets_each_message_once_while_the_stream_is_gone_and_after(
    cluster_on_own_nats: Cluster, own_nats: NatsServer
) -> None:
    a, b = await cluster_on_own_nats.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        owner_on_a = a.client(http, world.owner.token)
        subject = f"gochat.guild.{world.guild_id}"
        async with subscribed(b, world.member.token, EVENTS) as on_b:
            await prime(
                on_b, lambda label: send(owner_on_a, world.text_id, label), matcher=message_created
            )
            contents = [f"unstored {i}" for i in range(COUNT)]
            async with stream_away(own_nats.url, hold=False):
                # Answered at once: the changes committed, their events wait in the outbox.
                ids = await asyncio.gather(*(send(owner_on_a, world.text_id, c) for c in contents))
                arrived = await created(on_b, COUNT)
                delivered = len(on_b.seen)
            assert sorted(m["content"] for m in arrived) == sorted(contents)
            assert sorted(m["id"] for m in arrived) == sorted(ids)
            assert out_of_order(arrived) == []

            # Back: the relay stores each event once.
            async with asyncio.timeout(RECOVERY_SECONDS):
                while not all(
                    (stored := await copies_in_stream(own_nats.url, subject, contents)).values()
                ):
                    await asyncio.sleep(0.1)
            assert set(stored.values()) == {1}

            # The relay's copies reached the subscriber's process before the stream stored them,
            # so before this send: none of them reached the subscriber again.
            await send(owner_on_a, world.text_id, "after")
            await on_b.wait_for(message_created("after"), timeout=20)
            repeated = [
                e["message"]["content"]
                for e in on_b.seen[delivered:]
                if e["__typename"] == "MessageCreated" and e["message"]["content"] in contents
            ]
            assert repeated == []
