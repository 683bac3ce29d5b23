"""Back-pressure on live sockets: frames go out at once while a socket keeps up; a socket that
stops reading has a bounded outbox and is closed with 1013 when it overflows, while the other
sockets of the same channel keep receiving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import websockets

from tests.api.test_live_delivery import CHANNEL, live, send, subscribed
from tests.support.client import GraphQLClient
from tests.support.guilds import make_world

BIG = "x" * 3900
MAX_OUTBOX = 16
OPERATIONS = 50


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ws_max_outbox_frames": MAX_OUTBOX}


def tiny_receive_buffer(url: str) -> socket.socket:
    """A connected TCP socket whose kernel receive buffer is as small as it gets, so that a
    client that stops reading pushes back on the server after a few frames."""
    parts = urlsplit(url)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    raw.connect((parts.hostname, parts.port))
    raw.setblocking(False)
    return raw


async def test_a_socket_that_stops_reading_is_closed_1013_and_the_others_keep_up(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    token = world.member.token
    async with (
        websockets.connect(
            client.ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            sock=tiny_receive_buffer(client.ws_url),
            max_queue=1,
        ) as slow,
        live(client, world.owner) as healthy,
    ):
        await slow.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await asyncio.wait_for(slow.recv(), 5))["type"] == "connection_ack"
        # Each message becomes OPERATIONS frames on the slow socket.
        for n in range(OPERATIONS):
            await slow.send(
                json.dumps(
                    {
                        "id": f"s{n}",
                        "type": "subscribe",
                        "payload": {"query": CHANNEL, "variables": {"c": world.text_id}},
                    }
                )
            )
        op = await subscribed(healthy, CHANNEL, {"c": world.text_id})
        live_ops: set[str] = set()
        while len(live_ops) < OPERATIONS:  # every operation of the slow socket is registered
            await send(world.owner, world.text_id, "probe")
            assert (await healthy.receive(op))["type"] == "next"
            with contextlib.suppress(TimeoutError):
                while len(live_ops) < OPERATIONS:
                    frame = json.loads(await asyncio.wait_for(slow.recv(), 0.5))
                    assert frame["type"] == "next", frame
                    live_ops.add(frame["id"])
        # The slow client never reads while 40 messages (8 MB on its socket) are sent: the
        # kernel buffers, the server's transport buffer and then its 16-frame outbox fill up.
        sent = 0
        for _ in range(4):
            await asyncio.gather(*(send(world.owner, world.text_id, BIG) for _ in range(10)))
            for _ in range(10):
                message = await healthy.receive(op)
                assert message["type"] == "next"
                assert message["payload"]["data"]["channelEvents"]["message"]["content"] == BIG
            sent += 10
        received = 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frame = json.loads(await asyncio.wait_for(slow.recv(), 10))
                if frame.get("type") == "next":
                    received += 1
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    assert closed.value.rcvd.reason == "slow consumer: reconnect and resync"
    assert MAX_OUTBOX <= received < sent * OPERATIONS
