"""Presence is announced only when what others see changes: a second identical connection,
or a reload within the grace period, announces nothing. On the in-process presence store and
on Redis (where several processes share what was last announced)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.factories import SignedUpUser
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(90)

GRACE = 0.5

WATCH = """subscription($u: [ID!]!) { presence(userIds: $u) { __typename
  ... on PresenceUpdated { presence { userId status customStatus } } } }"""

SET = (
    """mutation($s: PresenceStatus!) { setPresence(input: {status: $s}) { presence { status } } }"""
)


@pytest.fixture(params=["memory", "redis"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    values: dict[str, Any] = {
        "presence_grace_seconds": GRACE,
        "presence_sweep_interval_seconds": 0.1,
    }
    if request.param == "redis":
        values["redis_url"] = request.getfixturevalue("redis_engine").url
    return values


@asynccontextmanager
async def online(client: GraphQLClient, user: SignedUpUser) -> AsyncIterator[WsSession]:
    async with ws_connect(client.ws_url, payload={"authorization": f"Bearer {user.token}"}) as ws:
        yield ws


async def next_status(ws: WsSession, op: str) -> str:
    message = await ws.receive(op, timeout=15)
    assert message["type"] == "next", message
    status: str = message["payload"]["data"]["presence"]["presence"]["status"]
    return status


async def test_presence_is_announced_only_when_it_changes(client: GraphQLClient) -> None:
    world = await make_world(client)
    owner = world.owner
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [owner.id]})
        assert await next_status(watcher, op) == "OFFLINE"  # the snapshot
        async with online(client, owner):
            assert await next_status(watcher, op) == "ONLINE"
            async with online(client, owner):  # a second tab: still ONLINE
                pass
        async with online(client, owner):  # a reload within the grace period
            # The first connection's session lapses meanwhile (nothing shows it from
            # outside); whatever the timing, the next announcement must be the change below.
            await asyncio.sleep(GRACE * 3)
            (await owner.client.execute(SET, {"s": "DND"})).ok()
            assert await next_status(watcher, op) == "DND"
        assert await next_status(watcher, op) == "OFFLINE"
