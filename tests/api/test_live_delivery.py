"""Permission-correct live delivery: `events` and `channelEvents` over graphql-transport-ws.

Each test subscribes through a real socket, changes state through HTTP, and asserts what every
viewer's socket receives, and what it does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.factories import SignedUpUser, signed_up
from tests.support.guilds import World, grant, invite_and_join, make_world

EVENTS = """subscription { events {
  __typename
  ... on MessageCreated { message { id content channelId author { id } } }
  ... on MemberRemoved { guildId userId reason }
  ... on MemberJoined { member { userId } }
  ... on ChannelCreated { channel { id name } }
  ... on MessagesDeleted { messageIds }
} }"""

CHANNEL = """subscription($c: ID!) { channelEvents(channelId: $c) {
  __typename
  ... on MessageCreated { message { id content } }
  ... on MessagePinned { message { id pinned reactions { count me } } }
  ... on ReactionAdded { userId emoji { unicode } }
} }"""

SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


@asynccontextmanager
async def live(client: GraphQLClient, user: SignedUpUser) -> AsyncIterator[WsSession]:
    async with ws_connect(client.ws_url, payload={"authorization": f"Bearer {user.token}"}) as ws:
        yield ws


async def subscribed(ws: WsSession, query: str, variables: dict[str, Any] | None = None) -> str:
    op = await ws.subscribe(query, variables)
    await ws.barrier()  # the subscription listens before the change
    return op


async def send(user: SignedUpUser, channel_id: str, text: str) -> str:
    data = (await user.client.execute(SEND, {"c": channel_id, "t": text})).ok()
    return str(data["sendMessage"]["message"]["id"])


async def next_of(ws: WsSession, op: str, typename: str) -> dict[str, Any]:
    """The next `next` payload of this type, skipping other event types."""
    while True:
        message = await ws.receive(op)
        assert message["type"] == "next", message
        event: dict[str, Any] = message["payload"]["data"]
        event = next(iter(event.values()))
        if event["__typename"] == typename:
            return event


async def deny_view(world: World, channel_id: str, user: SignedUpUser) -> None:
    (
        await world.owner.client.execute(
            """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {
              channelId: $c, targetType: MEMBER, targetId: $u, deny: [VIEW_CHANNELS]}) {
              overwrite { targetId } } }""",
            {"c": channel_id, "u": user.id},
        )
    ).ok()


async def test_a_message_reaches_every_member_and_no_outsider(client: GraphQLClient) -> None:
    world = await make_world(client)
    async with (
        live(client, world.member) as member_ws,
        live(client, world.owner) as owner_ws,
        live(client, world.outsider) as outsider_ws,
    ):
        member_op = await subscribed(member_ws, EVENTS)
        owner_op = await subscribed(owner_ws, EVENTS)
        outsider_op = await subscribed(outsider_ws, EVENTS)
        message_id = await send(world.owner, world.text_id, "hello all")
        for ws, op in ((member_ws, member_op), (owner_ws, owner_op)):
            event = await next_of(ws, op, "MessageCreated")
            assert event["message"] == {
                "id": message_id,
                "content": "hello all",
                "channelId": world.text_id,
                "author": {"id": world.owner.id},
            }
        await outsider_ws.expect_silence(outsider_op)


async def test_channel_events_for_a_channel_one_cannot_view_is_not_found(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    async with live(client, world.outsider) as ws:
        op = await ws.subscribe(CHANNEL, {"c": world.text_id})
        message = await ws.receive(op)
        assert message["type"] == "error"
        assert [e["extensions"]["code"] for e in message["payload"]] == ["NOT_FOUND"]
        await send(world.owner, world.text_id, "secret")
        await ws.expect_silence(op)


async def test_losing_view_by_overwrite_stops_the_channel_at_once(client: GraphQLClient) -> None:
    world = await make_world(client)
    async with live(client, world.member) as ws:
        events_op = await subscribed(ws, EVENTS)
        channel_op = await ws.subscribe(CHANNEL, {"c": world.text_id})
        await ws.barrier()
        await send(world.owner, world.text_id, "before")
        assert (await next_of(ws, events_op, "MessageCreated"))["message"]["content"] == "before"
        assert (await next_of(ws, channel_op, "MessageCreated"))["message"]["content"] == "before"
        await deny_view(world, world.text_id, world.member)
        await send(world.owner, world.text_id, "after")
        ended = await ws.receive(channel_op)
        assert ended["type"] == "error"
        assert [e["extensions"]["code"] for e in ended["payload"]] == ["NOT_FOUND"]
        lost = await ws.receive(events_op)
        assert lost["payload"]["data"]["events"] == {"__typename": "ChannelVisibilityLost"}
        await ws.expect_silence(events_op)


async def test_losing_the_role_that_opened_a_private_channel_stops_it(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    created = (
        await world.owner.client.execute(
            """mutation($g: ID!) { createChannel(input: {guildId: $g, type: TEXT, name: "staff",
              private: true}) { channel { id } } }""",
            {"g": world.guild_id},
        )
    ).ok()
    staff_id = created["createChannel"]["channel"]["id"]
    role_id = await grant(world, world.member, [], name="staff")
    (
        await world.owner.client.execute(
            """mutation($c: ID!, $r: ID!) { setChannelPermissionOverwrite(input: {
              channelId: $c, targetType: ROLE, targetId: $r, allow: [VIEW_CHANNELS]}) {
              overwrite { targetId } } }""",
            {"c": staff_id, "r": role_id},
        )
    ).ok()
    async with live(client, world.member) as ws:
        op = await subscribed(ws, EVENTS)
        await send(world.owner, staff_id, "staff only")
        assert (await next_of(ws, op, "MessageCreated"))["message"]["content"] == "staff only"
        (
            await world.owner.client.execute(
                """mutation($g: ID!, $u: ID!, $r: ID!) { removeRole(input: {guildId: $g,
                  userId: $u, roleId: $r}) { member { userId } } }""",
                {"g": world.guild_id, "u": world.member.id, "r": role_id},
            )
        ).ok()
        await send(world.owner, staff_id, "no longer yours")
        await send(world.owner, world.text_id, "public")
        event = await next_of(ws, op, "MessageCreated")
        assert event["message"]["content"] == "public"


VISIBILITY = """subscription { events {
  __typename
  ... on ChannelVisibilityLost { guildId channelId }
  ... on ChannelVisibilityGained { channel { __typename id name ... on TextChannel { unreadCount } } }
  ... on MessageCreated { message { content } }
} }"""
SET_ROLE_OVERWRITE = """mutation($c: ID!, $r: ID!, $a: [Permission!]!, $d: [Permission!]!) {
  setChannelPermissionOverwrite(input: {channelId: $c, targetType: ROLE, targetId: $r,
  allow: $a, deny: $d}) { overwrite { targetId } } }"""
DELETE_ROLE_OVERWRITE = """mutation($c: ID!, $r: ID!) { deleteChannelPermissionOverwrite(input: {
  channelId: $c, targetType: ROLE, targetId: $r}) { __typename } }"""
ROLE_CHANGE = """mutation($g: ID!, $u: ID!, $r: ID!) { %s(input: {guildId: $g, userId: $u,
  roleId: $r}) { member { userId } } }"""


async def next_event(ws: WsSession, op: str, *, skipping: tuple[str, ...] = ()) -> dict[str, Any]:
    """The next event, passing over those of the types in `skipping`."""
    while True:
        message = await ws.receive(op)
        assert message["type"] == "next", message
        event: dict[str, Any] = message["payload"]["data"]["events"]
        if event["__typename"] not in skipping:
            return event


@pytest.mark.parametrize(
    "settings_overrides", [{}, {"ws_fanout": "per-subscriber"}], ids=["shared", "per-subscriber"]
)
async def test_an_overwrite_hiding_a_channel_removes_it_and_its_removal_brings_it_back(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    role_id = await grant(world, world.member, [], name="muted")
    hidden = {"__typename": "ChannelVisibilityLost", "guildId": world.guild_id}
    async with live(client, world.member) as ws, live(client, world.owner) as owner_ws:
        op = await subscribed(ws, VISIBILITY)
        owner_op = await subscribed(owner_ws, VISIBILITY)
        variables = {"c": world.text_id, "r": role_id, "a": [], "d": ["VIEW_CHANNELS"]}
        (await world.owner.client.execute(SET_ROLE_OVERWRITE, variables)).ok()
        assert await next_event(ws, op) == {**hidden, "channelId": world.text_id}
        await send(world.owner, world.text_id, "not for you")
        (
            await world.owner.client.execute(
                DELETE_ROLE_OVERWRITE, {"c": world.text_id, "r": role_id}
            )
        ).ok()
        assert await next_event(ws, op) == {
            "__typename": "ChannelVisibilityGained",
            "channel": {
                "__typename": "TextChannel",
                "id": world.text_id,
                "name": "general",
                "unreadCount": 2,  # the join notice and the message sent while hidden
            },
        }
        await send(world.owner, world.text_id, "welcome back")
        assert await next_event(ws, op) == {"__typename": "OverwriteDeleted"}
        assert (await next_event(ws, op))["message"]["content"] == "welcome back"
        await ws.expect_silence(op)
        # The owner saw the channel throughout: no visibility change reached them.
        seen = []
        while not seen or seen[-1] != "welcome back":
            event = await next_event(owner_ws, owner_op)
            seen.append(event["message"]["content"] if "message" in event else event["__typename"])
        assert not [e for e in seen if e.startswith("ChannelVisibility")], seen


async def test_losing_and_regaining_the_role_that_opens_a_channel_is_told_as_it_happens(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    created = (
        await world.owner.client.execute(
            """mutation($g: ID!) { createChannel(input: {guildId: $g, type: VOICE, name: "Staff",
              private: true}) { channel { id } } }""",
            {"g": world.guild_id},
        )
    ).ok()
    staff_id = created["createChannel"]["channel"]["id"]
    role_id = await grant(world, world.member, [], name="staff")
    variables = {"c": staff_id, "r": role_id, "a": ["VIEW_CHANNELS"], "d": []}
    (await world.owner.client.execute(SET_ROLE_OVERWRITE, variables)).ok()
    role = {"g": world.guild_id, "u": world.member.id, "r": role_id}
    async with live(client, world.member) as ws:
        op = await subscribed(ws, VISIBILITY)
        (await world.owner.client.execute(ROLE_CHANGE % "removeRole", role)).ok()
        assert await next_event(ws, op, skipping=("MemberUpdated",)) == {
            "__typename": "ChannelVisibilityLost",
            "guildId": world.guild_id,
            "channelId": staff_id,
        }
        (await world.owner.client.execute(ROLE_CHANGE % "assignRole", role)).ok()
        assert await next_event(ws, op, skipping=("MemberUpdated",)) == {
            "__typename": "ChannelVisibilityGained",
            "channel": {"__typename": "VoiceChannel", "id": staff_id, "name": "Staff"},
        }
        assert await next_event(ws, op) == {"__typename": "MemberUpdated"}
        await ws.expect_silence(op)


async def test_making_a_channel_private_and_public_again_is_told_to_those_it_hides(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    update = """mutation($c: ID!, $p: Boolean!) { updateChannel(input: {channelId: $c,
      private: $p}) { channel { id } } }"""
    async with live(client, world.member) as ws:
        op = await subscribed(ws, VISIBILITY)
        (await world.owner.client.execute(update, {"c": world.text_id, "p": True})).ok()
        assert await next_event(ws, op) == {
            "__typename": "ChannelVisibilityLost",
            "guildId": world.guild_id,
            "channelId": world.text_id,
        }
        (await world.owner.client.execute(update, {"c": world.text_id, "p": False})).ok()
        gained = await next_event(ws, op)
        assert gained["__typename"] == "ChannelVisibilityGained"
        assert gained["channel"]["id"] == world.text_id
        assert await next_event(ws, op) == {"__typename": "ChannelUpdated"}
        await ws.expect_silence(op)


async def removal_then_silence(
    client: GraphQLClient, world: World, remove: str, reason: str
) -> None:
    async with live(client, world.member) as ws:
        op = await subscribed(ws, EVENTS)
        actor = world.member if remove == "leaveGuild" else world.owner
        variables = {"g": world.guild_id, "u": world.member.id}
        mutation = {
            "leaveGuild": "mutation($g: ID!) { leaveGuild(input: {guildId: $g}) { guildId } }",
            "kickMember": "mutation($g: ID!, $u: ID!) { kickMember(input: {guildId: $g, userId: $u}) { userId } }",
            "banMember": "mutation($g: ID!, $u: ID!) { banMember(input: {guildId: $g, userId: $u}) { ban { userId } } }",
        }[remove]
        if remove == "leaveGuild":
            variables = {"g": world.guild_id}
        result = await actor.client.execute(mutation, variables)
        assert not result.errors, result.body
        removed = await next_of(ws, op, "MemberRemoved")
        assert removed == {
            "__typename": "MemberRemoved",
            "guildId": world.guild_id,
            "userId": world.member.id,
            "reason": reason,
        }
        await send(world.owner, world.text_id, "after the removal")
        await ws.expect_silence(op, seconds=0.5)


async def test_a_kicked_member_hears_the_removal_and_nothing_after(
    client: GraphQLClient,
) -> None:
    await removal_then_silence(client, await make_world(client), "kickMember", "kicked")


async def test_a_banned_member_hears_the_removal_and_nothing_after(
    client: GraphQLClient,
) -> None:
    await removal_then_silence(client, await make_world(client), "banMember", "banned")


async def test_a_member_who_leaves_hears_the_removal_and_nothing_after(
    client: GraphQLClient,
) -> None:
    await removal_then_silence(client, await make_world(client), "leaveGuild", "left")


async def test_joining_a_guild_starts_its_stream_without_resubscribing(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    newcomer = await signed_up(client)
    async with live(client, newcomer) as ws:
        op = await subscribed(ws, EVENTS)
        await invite_and_join(world.owner, newcomer, world.text_id)
        joined = await next_of(ws, op, "MemberJoined")
        assert joined["member"]["userId"] == newcomer.id
        system = await next_of(ws, op, "MessageCreated")  # the member-joined notice
        assert system["message"]["author"] == {"id": newcomer.id}
        await send(world.owner, world.text_id, "welcome")
        assert (await next_of(ws, op, "MessageCreated"))["message"]["content"] == "welcome"


async def test_direct_messages_reach_both_participants_only(client: GraphQLClient) -> None:
    alice, bob, carol = [await signed_up(client) for _ in range(3)]
    dm = (
        await alice.client.execute(
            "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }",
            {"u": bob.id},
        )
    ).ok()["openDirectMessage"]["channel"]["id"]
    async with live(client, bob) as bob_ws, live(client, carol) as carol_ws:
        bob_op = await subscribed(bob_ws, EVENTS)
        carol_op = await subscribed(carol_ws, EVENTS)
        await send(alice, dm, "psst")
        assert (await next_of(bob_ws, bob_op, "MessageCreated"))["message"]["content"] == "psst"
        await carol_ws.expect_silence(carol_op)


async def test_viewer_dependent_fields_are_resolved_for_each_subscriber(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    message_id = await send(world.owner, world.text_id, "react to me")
    async with live(client, world.member) as member_ws, live(client, world.owner) as owner_ws:
        member_op = await subscribed(member_ws, CHANNEL, {"c": world.text_id})
        owner_op = await subscribed(owner_ws, CHANNEL, {"c": world.text_id})
        (
            await world.member.client.execute(
                """mutation($m: ID!) { addReaction(input: {messageId: $m, emoji: {unicode: "👍"}})
                  { message { id } } }""",
                {"m": message_id},
            )
        ).ok()
        (
            await world.owner.client.execute(
                "mutation($m: ID!) { pinMessage(input: {messageId: $m}) { message { id } } }",
                {"m": message_id},
            )
        ).ok()
        mine = await next_of(member_ws, member_op, "MessagePinned")
        theirs = await next_of(owner_ws, owner_op, "MessagePinned")
    assert mine["message"]["reactions"] == [{"count": 1, "me": True}]
    assert theirs["message"]["reactions"] == [{"count": 1, "me": False}]


async def test_one_document_with_different_variables_is_executed_with_each_socket_s_own(
    client: GraphQLClient,
) -> None:
    # Operations with the same document and variables share what the process built from them;
    # a variable that only event execution reads must still be each operation's own.
    document = """subscription($c: ID!, $withContent: Boolean!) { channelEvents(channelId: $c) {
      __typename ... on MessageCreated { message { id content @include(if: $withContent) } } } }"""
    world = await make_world(client)
    async with (
        live(client, world.owner) as with_content,
        live(client, world.member) as same_variables,
        live(client, world.member) as without_content,
    ):
        ops = [
            await subscribed(with_content, document, {"c": world.text_id, "withContent": True}),
            await subscribed(same_variables, document, {"c": world.text_id, "withContent": True}),
            await subscribed(without_content, document, {"c": world.text_id, "withContent": False}),
        ]
        message_id = await send(world.owner, world.text_id, "variables")
        full = {"id": message_id, "content": "variables"}
        sockets = (with_content, same_variables, without_content)
        for ws, op, expected in zip(sockets, ops, (full, full, {"id": message_id}), strict=True):
            assert (await next_of(ws, op, "MessageCreated"))["message"] == expected
