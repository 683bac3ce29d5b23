"""Typing indicators: `startTyping` reaches the channel's viewers (and only them), lapses after
10 seconds, needs SEND_MESSAGES and is rate limited per user. In DMs and group DMs it also
reaches the participants' `events` streams; guild typing does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.test_live_delivery import deny_view, live, next_of, subscribed
from tests.support.client import GraphQLClient, WsSession
from tests.support.factories import SignedUpUser, signed_up
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(60)

TYPE = """mutation($c: ID!) { startTyping(input: {channelId: $c}) { expiresAt } }"""

TYPING = """subscription($c: ID!) { typing(channelId: $c) { __typename
  ... on TypingStarted { channelId guildId userId expiresAt user { id } } } }"""

CHANNEL = """subscription($c: ID!) { channelEvents(channelId: $c) { __typename
  ... on TypingStarted { userId } ... on MessageCreated { message { id } } } }"""

SEND = """mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "hi"}) {
  message { id } } }"""

EVENTS = """subscription { events { __typename
  ... on TypingStarted { channelId guildId userId }
  ... on DirectChannelLeft { channelId }
  ... on DirectChannelUpdated { channel { id } } } }"""

OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"

GROUP = """mutation($u: [ID!]!) { createGroupDirectMessage(input: {userIds: $u}) {
  channel { id } } }"""

LEAVE = "mutation($c: ID!) { leaveGroupDirectMessage(input: {channelId: $c}) { channelId } }"

REMOVE = """mutation($c: ID!, $u: ID!) { removeGroupRecipient(input: {channelId: $c, userId: $u})
  { channel { id } } }"""

BLOCK = "mutation($u: ID!) { blockUser(input: {userId: $u}) { userId } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_typing_per_user": "3/10"}


async def typing_of(ws: WsSession, op: str) -> dict[str, Any]:
    message = await ws.receive(op)
    assert message["type"] == "next", message
    event: dict[str, Any] = next(iter(message["payload"]["data"].values()))
    assert event["__typename"] == "TypingStarted", event
    return event


async def start(user: SignedUpUser, channel_id: str) -> datetime:
    data = (await user.client.execute(TYPE, {"c": channel_id})).ok()
    return datetime.fromisoformat(data["startTyping"]["expiresAt"])


async def test_typing_reaches_the_channel_viewers_for_ten_seconds(client: GraphQLClient) -> None:
    world = await make_world(client)
    async with live(client, world.member) as ws:
        op = await subscribed(ws, TYPING, {"c": world.text_id})
        events = await subscribed(ws, CHANNEL, {"c": world.text_id})
        before = datetime.now(UTC)
        expires = await start(world.owner, world.text_id)
        assert before + timedelta(seconds=9) < expires <= datetime.now(UTC) + timedelta(seconds=10)
        event = await typing_of(ws, op)
        assert event == {
            "__typename": "TypingStarted",
            "channelId": world.text_id,
            "guildId": world.guild_id,
            "userId": world.owner.id,
            "expiresAt": event["expiresAt"],
            "user": {"id": world.owner.id},
        }
        assert datetime.fromisoformat(event["expiresAt"]) == expires
        assert (await typing_of(ws, events))["userId"] == world.owner.id
        # typing() carries indicators only, not the channel's messages.
        (await world.owner.client.execute(SEND, {"c": world.text_id})).ok()
        message = await ws.receive(events)
        assert message["payload"]["data"]["channelEvents"]["__typename"] == "MessageCreated"
        await ws.expect_silence(op)


async def test_typing_is_refused_where_one_cannot_see_or_send(client: GraphQLClient) -> None:
    world = await make_world(client)
    (await world.outsider.client.execute(TYPE, {"c": world.text_id})).error("NOT_FOUND")
    (await world.owner.client.execute(TYPE, {"c": "123456789"})).error("NOT_FOUND")
    (await world.owner.client.execute(TYPE, {"c": world.voice_id})).error("BAD_USER_INPUT")
    (
        await world.owner.client.execute(
            """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {
              channelId: $c, targetType: MEMBER, targetId: $u, deny: [SEND_MESSAGES]}) {
              overwrite { targetId } } }""",
            {"c": world.text_id, "u": world.member.id},
        )
    ).ok()
    async with live(client, world.owner) as ws:
        op = await subscribed(ws, TYPING, {"c": world.text_id})
        (await world.member.client.execute(TYPE, {"c": world.text_id})).error("FORBIDDEN")
        await ws.expect_silence(op)
    async with live(client, world.outsider) as ws:
        op = await ws.subscribe(TYPING, {"c": world.text_id})
        message = await ws.receive(op)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_viewer_who_loses_the_channel_stops_receiving_typing(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    async with live(client, world.member) as ws:
        op = await subscribed(ws, TYPING, {"c": world.text_id})
        await start(world.owner, world.text_id)
        await typing_of(ws, op)
        await deny_view(world, world.text_id, world.member)
        message = await ws.receive(op)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"
        await start(world.owner, world.text_id)
        await ws.expect_silence(op)


async def test_typing_is_rate_limited_per_user(client: GraphQLClient) -> None:
    world = await make_world(client)
    for _ in range(3):
        await start(world.owner, world.text_id)
    error = (await world.owner.client.execute(TYPE, {"c": world.text_id})).error("RATE_LIMITED")
    assert error["extensions"]["retryAfterSeconds"] > 0
    await start(world.member, world.text_id)  # another user is not affected


async def test_typing_in_a_direct_message_reaches_the_other_participant(
    client: GraphQLClient,
) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client)
    carol = await signed_up(client)
    opened = await alice.client.execute(
        "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }",
        {"u": bob.id},
    )
    channel_id = opened.ok()["openDirectMessage"]["channel"]["id"]
    async with live(client, bob) as ws:
        op = await subscribed(ws, TYPING, {"c": channel_id})
        await start(alice, channel_id)
        event = await typing_of(ws, op)
        assert (event["userId"], event["guildId"]) == (alice.id, None)
    (await carol.client.execute(TYPE, {"c": channel_id})).error("NOT_FOUND")


async def open_dm(user: SignedUpUser, other: SignedUpUser) -> str:
    data = (await user.client.execute(OPEN_DM, {"u": other.id})).ok()
    return str(data["openDirectMessage"]["channel"]["id"])


async def test_typing_in_a_direct_message_reaches_both_participants_events_and_no_one_else(
    client: GraphQLClient,
) -> None:
    alice, bob, carol = [await signed_up(client) for _ in range(3)]
    channel_id = await open_dm(alice, bob)
    async with (
        live(client, alice) as alice_ws,
        live(client, bob) as bob_ws,
        live(client, carol) as carol_ws,
    ):
        alice_op = await subscribed(alice_ws, EVENTS)
        bob_op = await subscribed(bob_ws, EVENTS)
        carol_op = await subscribed(carol_ws, EVENTS)
        await start(alice, channel_id)
        expected = {
            "__typename": "TypingStarted",
            "channelId": channel_id,
            "guildId": None,
            "userId": alice.id,
        }
        assert await typing_of(bob_ws, bob_op) == expected
        # The typist's own devices hear it too, as on `typing(channelId)`.
        assert await typing_of(alice_ws, alice_op) == expected
        await carol_ws.expect_silence(carol_op)
        (await carol.client.execute(TYPE, {"c": channel_id})).error("NOT_FOUND")
        await alice_ws.expect_silence(alice_op)
        await bob_ws.expect_silence(bob_op)


async def test_guild_channel_typing_stays_off_the_events_stream(client: GraphQLClient) -> None:
    world = await make_world(client)
    async with live(client, world.member) as ws:
        events = await subscribed(ws, EVENTS)
        op = await subscribed(ws, TYPING, {"c": world.text_id})
        await start(world.owner, world.text_id)
        assert (await typing_of(ws, op))["userId"] == world.owner.id
        await ws.expect_silence(events)


async def test_group_dm_typing_follows_membership_on_the_events_stream(
    client: GraphQLClient,
) -> None:
    owner, bob, carol = [await signed_up(client) for _ in range(3)]
    async with live(client, bob) as bob_ws, live(client, carol) as carol_ws:
        # Subscribed before the group exists: joining it starts its typing on `events`.
        bob_op = await subscribed(bob_ws, EVENTS)
        carol_op = await subscribed(carol_ws, EVENTS)
        created = (await owner.client.execute(GROUP, {"u": [bob.id, carol.id]})).ok()
        group_id = created["createGroupDirectMessage"]["channel"]["id"]
        for ws, op in ((bob_ws, bob_op), (carol_ws, carol_op)):
            assert (await next_of(ws, op, "DirectChannelUpdated"))["channel"]["id"] == group_id
        await start(owner, group_id)
        for ws, op in ((bob_ws, bob_op), (carol_ws, carol_op)):
            assert (await typing_of(ws, op))["userId"] == owner.id

        (await bob.client.execute(LEAVE, {"c": group_id})).ok()
        assert (await next_of(bob_ws, bob_op, "DirectChannelLeft"))["channelId"] == group_id
        await start(owner, group_id)
        assert (await next_of(carol_ws, carol_op, "TypingStarted"))["userId"] == owner.id
        await bob_ws.expect_silence(bob_op)

        # Removed by the owner: the same.
        (await owner.client.execute(REMOVE, {"c": group_id, "u": carol.id})).ok()
        assert (await next_of(carol_ws, carol_op, "DirectChannelLeft"))["channelId"] == group_id
        await start(owner, group_id)
        await carol_ws.expect_silence(carol_op)
        await bob_ws.expect_silence(bob_op)


async def test_a_blocked_direct_message_carries_no_typing_either_way(
    client: GraphQLClient,
) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    channel_id = await open_dm(alice, bob)
    (await alice.client.execute(BLOCK, {"u": bob.id})).ok()
    async with live(client, alice) as alice_ws, live(client, bob) as bob_ws:
        alice_op = await subscribed(alice_ws, EVENTS)
        bob_op = await subscribed(bob_ws, EVENTS)
        (await bob.client.execute(TYPE, {"c": channel_id})).error("FORBIDDEN")
        (await alice.client.execute(TYPE, {"c": channel_id})).error("FORBIDDEN")
        await alice_ws.expect_silence(alice_op)
        await bob_ws.expect_silence(bob_op)
