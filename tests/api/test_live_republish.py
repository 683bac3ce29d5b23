"""Live subscribers get an event once even when the outbox relay republishes it long after,
past hundreds of other events on the same subject."""

from __future__ import annotations

import asyncio

from gochat.bus import Envelope, subjects
from tests.api.test_live_delivery import CHANNEL, live, send, subscribed
from tests.support.client import GraphQLClient
from tests.support.guilds import make_world
from tests.support.server import RunningServer

OTHERS = 300


async def test_an_event_republished_after_hundreds_of_others_reaches_each_socket_once(
    client: GraphQLClient, server: RunningServer
) -> None:
    world = await make_world(client)
    bus = server.services.bus
    tap = await bus.subscribe(
        subjects.message_channel(int(world.text_id), int(world.guild_id)), max_pending=2 * OTHERS
    )
    published = aiter(tap)
    async with live(client, world.member) as ws:
        op = await subscribed(ws, CHANNEL, {"c": world.text_id})
        await send(world.owner, world.text_id, "first")
        for _ in range(OTHERS // 10):
            await asyncio.gather(*(send(world.owner, world.text_id, "other") for _ in range(10)))
        first: Envelope = await asyncio.wait_for(anext(published), 5)
        contents = []
        for _ in range(OTHERS + 1):
            frame = await ws.receive(op)
            contents.append(frame["payload"]["data"]["channelEvents"]["message"]["content"])
        assert contents == ["first"] + ["other"] * OTHERS

        await bus.publish([first])  # what the relay does for a row it saw unconfirmed
        await send(world.owner, world.text_id, "after")
        frame = await ws.receive(op)
        assert frame["payload"]["data"]["channelEvents"]["message"]["content"] == "after"
        await ws.expect_silence(op)
    await tap.close()
