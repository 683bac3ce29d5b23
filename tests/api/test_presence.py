"""Presence over real sockets: each connection is a session, sessions combine per user,
changes reach those allowed to see them, and a user goes offline after their last socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets

from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.factories import SignedUpUser, signed_up
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(60)

GRACE = 0.6

WATCH = """subscription($u: [ID!]!) { presence(userIds: $u) { __typename
  ... on PresenceUpdated { presence { userId status customStatus user { id } } } } }"""

SET = """mutation($s: PresenceStatus!, $c: String) {
  setPresence(input: {status: $s, customStatus: $c}) { presence { status customStatus } } }"""

PRESENCES = "query($u: [ID!]!) { presences(userIds: $u) { userId status customStatus } }"

BLOCK = "mutation($u: ID!) { blockUser(input: {userId: $u}) { userId } }"


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Short presence timings; a test may name the fan-out mode, or settings of its own."""
    param = getattr(request, "param", "shared")
    return {
        "presence_grace_seconds": GRACE,
        "presence_sweep_interval_seconds": 0.1,
        "ws_fanout": param if isinstance(param, str) else "shared",
        **(param if isinstance(param, dict) else {}),
    }


@asynccontextmanager
async def online(
    client: GraphQLClient, user: SignedUpUser, presence: dict[str, Any] | None = None
) -> AsyncIterator[WsSession]:
    payload: dict[str, Any] = {"authorization": f"Bearer {user.token}"}
    if presence is not None:
        payload["presence"] = presence
    async with ws_connect(client.ws_url, payload=payload) as ws:
        yield ws


async def next_presence(ws: WsSession, op: str, *, timeout: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(op, timeout=timeout)
    assert message["type"] == "next", message
    event: dict[str, Any] = message["payload"]["data"]["presence"]
    assert event["__typename"] == "PresenceUpdated", event
    presence: dict[str, Any] = event["presence"]
    return presence


async def wait_status(ws: WsSession, op: str, user_id: str, status: str) -> dict[str, Any]:
    """Skip updates until the user shows `status` (the same state may be announced twice)."""
    while True:
        presence = await next_presence(ws, op)
        if presence["userId"] == user_id and presence["status"] == status:
            return presence


@pytest.mark.parametrize("settings_overrides", ["shared", "per-subscriber"], indirect=True)
async def test_a_connection_shows_online_and_offline_follows_the_grace_period(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [world.owner.id]})
        snapshot = await next_presence(watcher, op)
        assert snapshot == {
            "userId": world.owner.id,
            "status": "OFFLINE",
            "customStatus": None,
            "user": {"id": world.owner.id},
        }
        async with online(client, world.owner):
            assert (await next_presence(watcher, op))["status"] == "ONLINE"  # one snapshot only
            shown = (await world.member.client.execute(PRESENCES, {"u": [world.owner.id]})).ok()
            assert shown["presences"][0]["status"] == "ONLINE"
        closed = asyncio.get_running_loop().time()
        await wait_status(watcher, op, world.owner.id, "OFFLINE")
        assert asyncio.get_running_loop().time() - closed >= GRACE * 0.8  # not before the grace


async def test_a_quick_reconnect_within_the_grace_period_never_shows_offline(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [world.owner.id]})
        await next_presence(watcher, op)
        async with online(client, world.owner):
            await wait_status(watcher, op, world.owner.id, "ONLINE")
        async with online(client, world.owner):  # a reload
            await asyncio.sleep(GRACE * 2)
            statuses = []
            with pytest.raises(TimeoutError):
                while True:
                    statuses.append((await next_presence(watcher, op, timeout=0.3))["status"])
            assert "OFFLINE" not in statuses
        await wait_status(watcher, op, world.owner.id, "OFFLINE")


async def test_connections_combine_dnd_over_online_over_idle(client: GraphQLClient) -> None:
    world = await make_world(client)
    owner = world.owner.id
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [owner]})
        await next_presence(watcher, op)
        async with online(client, world.owner, {"status": "IDLE", "customStatus": "afk"}):
            assert (await wait_status(watcher, op, owner, "IDLE"))["customStatus"] == "afk"
            async with online(client, world.owner):
                await wait_status(watcher, op, owner, "ONLINE")
                async with online(client, world.owner, {"status": "dnd"}):
                    await wait_status(watcher, op, owner, "DND")
                # The dnd connection closed while others remain: shown at once, no grace.
                await wait_status(watcher, op, owner, "ONLINE")
            await wait_status(watcher, op, owner, "IDLE")


async def test_set_presence_over_a_socket_sets_that_connection(client: GraphQLClient) -> None:
    world = await make_world(client)
    owner = world.owner.id
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [owner]})
        await next_presence(watcher, op)
        async with online(client, world.owner) as phone, online(client, world.owner):
            await wait_status(watcher, op, owner, "ONLINE")
            done = await phone.subscribe(SET, {"s": "IDLE", "c": "  on   the  bus "})
            reply = await phone.receive(done)
            # The other connection still says online: online wins over idle.
            assert reply["payload"]["data"]["setPresence"]["presence"] == {
                "status": "ONLINE",
                "customStatus": "on the bus",
            }
            shown = await next_presence(watcher, op)
            assert (shown["status"], shown["customStatus"]) == ("ONLINE", "on the bus")

            done = await phone.subscribe(SET, {"s": "INVISIBLE", "c": None})
            reply = await phone.receive(done)
            # Hiding on one device hides the user.
            assert reply["payload"]["data"]["setPresence"]["presence"]["status"] == "OFFLINE"
            await wait_status(watcher, op, owner, "OFFLINE")


async def test_set_presence_over_http_sets_every_connection(client: GraphQLClient) -> None:
    world = await make_world(client)
    owner = world.owner.id
    refused = await world.owner.client.execute(SET, {"s": "DND"})
    refused.error("CONFLICT")  # no live connection to set
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [owner]})
        await next_presence(watcher, op)
        async with online(client, world.owner), online(client, world.owner, {"status": "IDLE"}):
            await wait_status(watcher, op, owner, "ONLINE")
            result = (await world.owner.client.execute(SET, {"s": "IDLE", "c": "lunch"})).ok()
            assert result["setPresence"]["presence"] == {"status": "IDLE", "customStatus": "lunch"}
            shown = await wait_status(watcher, op, owner, "IDLE")
            assert shown["customStatus"] == "lunch"


LONG_GRACE, SHORT_TTL = 2.0, 10.0


@pytest.mark.parametrize(
    "settings_overrides",
    [{"presence_grace_seconds": LONG_GRACE, "presence_ttl_seconds": SHORT_TTL}],
    indirect=True,
)
async def test_set_presence_over_http_within_the_grace_still_goes_offline_after_it(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    owner = world.owner.id
    loop = asyncio.get_running_loop()
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [owner]})
        await next_presence(watcher, op)
        async with online(client, world.owner):
            await wait_status(watcher, op, owner, "ONLINE")
        closed = loop.time()
        await asyncio.sleep(0.3)  # the server has seen the socket close: its grace runs
        result = (await world.owner.client.execute(SET, {"s": "DND", "c": "brb"})).ok()
        assert result["setPresence"]["presence"] == {"status": "DND", "customStatus": "brb"}
        assert loop.time() - closed < LONG_GRACE  # still within the grace
        assert (await wait_status(watcher, op, owner, "DND"))["customStatus"] == "brb"
        await wait_status(watcher, op, owner, "OFFLINE")
        # Offline when the grace ends, not a full TTL after the report.
        assert LONG_GRACE * 0.8 <= loop.time() - closed < SHORT_TTL / 2
    (await world.owner.client.execute(SET, {"s": "ONLINE"})).error("CONFLICT")


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"s": "OFFLINE"}, "status"),
        ({"s": "ONLINE", "c": "x" * 129}, "customStatus"),
    ],
)
async def test_bad_presence_is_refused_and_changes_nothing(
    client: GraphQLClient, variables: dict[str, Any], field: str
) -> None:
    world = await make_world(client)
    async with online(client, world.owner):
        error = (await world.owner.client.execute(SET, variables)).error("BAD_USER_INPUT")
        assert error["extensions"]["field"] == field
        shown = (await world.member.client.execute(PRESENCES, {"u": [world.owner.id]})).ok()
        assert shown["presences"][0] == {
            "userId": world.owner.id,
            "status": "ONLINE",
            "customStatus": None,
        }


async def test_a_bad_presence_in_connection_init_closes_the_socket(
    client: GraphQLClient,
) -> None:
    alice = await signed_up(client)
    async with websockets.connect(client.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"authorization": f"Bearer {alice.token}", "presence": {"status": "OFFLINE"}}
        await ws.send(f'{{"type": "connection_init", "payload": {json.dumps(init)}}}')
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    shown = (await alice.client.execute(PRESENCES, {"u": [alice.id]})).ok()
    assert shown["presences"][0]["status"] == "OFFLINE"


async def test_strangers_and_blocked_users_see_offline_and_no_changes(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    owner = world.owner.id
    async with online(client, world.owner):
        async with online(client, world.outsider) as stranger:
            op = await stranger.subscribe(WATCH, {"u": [owner]})
            assert (await next_presence(stranger, op))["status"] == "OFFLINE"
            shown = (await world.outsider.client.execute(PRESENCES, {"u": [owner]})).ok()
            assert shown["presences"][0]["status"] == "OFFLINE"
            (await world.owner.client.execute(SET, {"s": "DND"})).ok()
            await stranger.expect_silence(op, seconds=0.5)

        (await world.owner.client.execute(BLOCK, {"u": world.member.id})).ok()
        shown = (await world.member.client.execute(PRESENCES, {"u": [owner]})).ok()
        assert shown["presences"][0]["status"] == "OFFLINE"
        # The blocker cannot see the blocked member's presence either.
        async with online(client, world.member):
            back = (await world.owner.client.execute(PRESENCES, {"u": [world.member.id]})).ok()
            assert back["presences"][0]["status"] == "OFFLINE"


@pytest.mark.parametrize("count", [0, 101])
async def test_presence_needs_one_to_a_hundred_users(client: GraphQLClient, count: int) -> None:
    alice = await signed_up(client)
    ids = [str(10**12 + n) for n in range(count)]
    error = (await alice.client.execute(PRESENCES, {"u": ids})).error("BAD_USER_INPUT")
    assert error["extensions"]["field"] == "userIds"
    async with online(client, alice) as ws:
        op = await ws.subscribe(WATCH, {"u": ids})
        message = await ws.receive(op)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_events_stream_carries_co_members_presence(client: GraphQLClient) -> None:
    world = await make_world(client)
    events = """subscription { events { __typename
      ... on PresenceUpdated { presence { userId status } } } }"""
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(events)
        await asyncio.sleep(0.15)
        async with online(client, world.owner, {"status": "DND"}):
            while True:
                message = await watcher.receive(op)
                event = message["payload"]["data"]["events"]
                if event["__typename"] == "PresenceUpdated" and (
                    event["presence"]["userId"] == world.owner.id
                ):
                    assert event["presence"]["status"] == "DND"
                    break
    async with online(client, world.outsider) as stranger:
        op = await stranger.subscribe(events)
        await asyncio.sleep(0.15)
        async with online(client, world.owner):
            await stranger.expect_silence(op, seconds=0.5)


async def test_the_user_stays_online_until_their_last_identical_connection_closes(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    owner = world.owner.id
    async with online(client, world.member) as watcher:
        op = await watcher.subscribe(WATCH, {"u": [owner]})
        await next_presence(watcher, op)
        async with online(client, world.owner):
            async with online(client, world.owner):
                await wait_status(watcher, op, owner, "ONLINE")
            await asyncio.sleep(GRACE * 2)  # one tab closed: still online
            shown = (await world.member.client.execute(PRESENCES, {"u": [owner]})).ok()
            assert shown["presences"][0]["status"] == "ONLINE"
        await wait_status(watcher, op, owner, "OFFLINE")
