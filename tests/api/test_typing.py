"""Typing indicators: `startTyping` reaches the channel's viewers (and only them), lapses after
10 seconds, needs SEND_MESSAGES and is rate limited per user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.test_live_delivery import deny_view, live, subscribed
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
