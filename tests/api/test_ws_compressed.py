"""With permessage-deflate, frames cannot skip websockets' own framing: live events take the
portable path (the ASGI send and a writer task) and still arrive in order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_live_delivery import CHANNEL, live, send, subscribed
from tests.support.client import GraphQLClient
from tests.support.guilds import make_world


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ws_per_message_deflate": True}


async def test_compressed_sockets_receive_every_message_in_order(client: GraphQLClient) -> None:
    world = await make_world(client)
    async with live(client, world.member) as ws:
        assert ws.socket.protocol.extensions, "permessage-deflate was not negotiated"
        op = await subscribed(ws, CHANNEL, {"c": world.text_id})
        for n in range(5):
            await send(world.owner, world.text_id, f"compressed {n}")
        contents = []
        for _ in range(5):
            frame = await ws.receive(op)
            contents.append(frame["payload"]["data"]["channelEvents"]["message"]["content"])
    assert contents == [f"compressed {n}" for n in range(5)]
