from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, invite_and_join


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Messages on the SQL database, and on a real Cassandra node."""
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


SEND = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"
REACT = """mutation($m: ID!, $e: EmojiInput!) { addReaction(input: {messageId: $m, emoji: $e}) {
  message { reactions { emoji { unicode customEmojiId } count me } } } }"""
UNREACT = """mutation($m: ID!, $e: EmojiInput!, $u: ID) { removeReaction(input: {messageId: $m, emoji: $e, userId: $u}) {
  message { reactions { emoji { unicode } count me } } } }"""


async def _guild_with_member(client: GraphQLClient):  # type: ignore[no-untyped-def]
    owner = await signed_up(client)
    guild = await create_guild(owner)
    channel = guild["channels"][0]["id"]
    member = await signed_up(client)
    await invite_and_join(owner, member, channel)
    return owner, member, guild, channel


async def test_reactions_count_per_emoji_with_me_flag_and_reactors(client: GraphQLClient) -> None:
    owner, member, _, channel = await _guild_with_member(client)
    msg = (await owner.client.execute(SEND, {"c": channel, "t": "react to me"})).ok()[
        "sendMessage"
    ]["message"]["id"]
    (await owner.client.execute(REACT, {"m": msg, "e": {"unicode": "👍"}})).ok()
    (await owner.client.execute(REACT, {"m": msg, "e": {"unicode": "👍"}})).ok()  # twice is a no-op
    data = (await member.client.execute(REACT, {"m": msg, "e": {"unicode": "👍"}})).ok()
    assert data["addReaction"]["message"]["reactions"] == [
        {"emoji": {"unicode": "👍", "customEmojiId": None}, "count": 2, "me": True}
    ]
    reactors = (
        await owner.client.execute(
            'query($m: ID!) { message(id: $m) { reactors(emoji: {unicode: "👍"}, first: 1) { edges { node { id } } pageInfo { hasNextPage } } } }',
            {"m": msg},
        )
    ).ok()["message"]["reactors"]
    assert len(reactors["edges"]) == 1 and reactors["pageInfo"]["hasNextPage"] is True
    # Others' reactions need MANAGE_MESSAGES.
    (await member.client.execute(UNREACT, {"m": msg, "e": {"unicode": "👍"}, "u": owner.id})).error(
        "FORBIDDEN"
    )
    left = (
        await owner.client.execute(UNREACT, {"m": msg, "e": {"unicode": "👍"}, "u": member.id})
    ).ok()
    assert left["removeReaction"]["message"]["reactions"] == [
        {"emoji": {"unicode": "👍"}, "count": 1, "me": True}
    ]


async def test_custom_emoji_from_another_guild_is_refused(client: GraphQLClient) -> None:
    owner, _, _, channel = await _guild_with_member(client)
    other = await create_guild(owner, "Elsewhere")
    emoji = (
        await owner.client.execute(
            'mutation($g: ID!) { createEmoji(input: {guildId: $g, name: "party"}) { emoji { id } } }',
            {"g": other["id"]},
        )
    ).ok()["createEmoji"]["emoji"]["id"]
    msg = (await owner.client.execute(SEND, {"c": channel, "t": "x"})).ok()["sendMessage"][
        "message"
    ]["id"]
    (await owner.client.execute(REACT, {"m": msg, "e": {"customEmojiId": emoji}})).error(
        "BAD_USER_INPUT"
    )
    (await owner.client.execute(REACT, {"m": msg, "e": {"unicode": "abc"}})).error("BAD_USER_INPUT")
    (await owner.client.execute(REACT, {"m": msg, "e": {}})).error("BAD_USER_INPUT")


async def test_pins_need_manage_messages_and_post_a_notice(client: GraphQLClient) -> None:
    owner, member, _, channel = await _guild_with_member(client)
    msg = (await member.client.execute(SEND, {"c": channel, "t": "pin me"})).ok()["sendMessage"][
        "message"
    ]["id"]
    pin = "mutation($m: ID!) { pinMessage(input: {messageId: $m}) { message { pinned } } }"
    (await member.client.execute(pin, {"m": msg})).error("FORBIDDEN")
    assert (await owner.client.execute(pin, {"m": msg})).ok()["pinMessage"]["message"][
        "pinned"
    ] is True
    data = (
        await member.client.execute(
            "query($c: ID!) { channel(id: $c) { ... on TextChannel { pins { id } messages(last: 5) { edges { node { type referenceId } } } } } }",
            {"c": channel},
        )
    ).ok()["channel"]
    assert data["pins"] == [{"id": msg}]
    types = [e["node"]["type"] for e in data["messages"]["edges"]]
    assert (
        types[-1] == "MESSAGE_PINNED"
        and data["messages"]["edges"][-1]["node"]["referenceId"] == msg
    )


async def test_read_state_moves_forward_only_and_counts_unread_and_mentions(
    client: GraphQLClient,
) -> None:
    owner, member, _, channel = await _guild_with_member(client)
    ids = []
    for text in ("one", f"hi <@{member.id}>", "three"):
        ids.append(
            (await owner.client.execute(SEND, {"c": channel, "t": text})).ok()["sendMessage"][
                "message"
            ]["id"]
        )
    counts = (
        "query($c: ID!) { channel(id: $c) { ... on TextChannel { unreadCount mentionCount } } }"
    )
    # The member-joined notice in the system channel counts as unread too.
    before = (await member.client.execute(counts, {"c": channel})).ok()["channel"]
    assert before == {"unreadCount": 4, "mentionCount": 1}
    ack = "mutation($c: ID!, $m: ID!) { ackMessage(input: {channelId: $c, messageId: $m}) { readState { lastReadMessageId } } }"
    assert (await member.client.execute(ack, {"c": channel, "m": ids[1]})).ok()["ackMessage"][
        "readState"
    ]["lastReadMessageId"] == ids[1]
    assert (await member.client.execute(ack, {"c": channel, "m": ids[0]})).ok()["ackMessage"][
        "readState"
    ]["lastReadMessageId"] == ids[1]
    after = (await member.client.execute(counts, {"c": channel})).ok()["channel"]
    assert after == {"unreadCount": 1, "mentionCount": 0}
    me = (
        await member.client.execute(
            "{ me { readStates { channelId lastReadMessageId } mentions { edges { node { id } } } } }"
        )
    ).ok()["me"]
    assert me["readStates"] == [{"channelId": channel, "lastReadMessageId": ids[1]}]
    assert me["mentions"]["edges"] == [{"node": {"id": ids[1]}}]


async def test_joining_by_invite_posts_member_joined_in_system_channel(
    client: GraphQLClient,
) -> None:
    owner, member, _, channel = await _guild_with_member(client)
    edges = (
        await owner.client.execute(
            "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages { edges { node { type authorId content } } } } } }",
            {"c": channel},
        )
    ).ok()["channel"]["messages"]["edges"]
    assert edges == [{"node": {"type": "MEMBER_JOINED", "authorId": member.id, "content": ""}}]


async def test_sending_a_message_marks_it_read_for_its_author_only(client: GraphQLClient) -> None:
    owner, member, _, channel = await _guild_with_member(client)
    sent = (await member.client.execute(SEND, {"c": channel, "t": "mine"})).ok()["sendMessage"][
        "message"
    ]["id"]
    counts = "query($c: ID!) { channel(id: $c) { ... on TextChannel { unreadCount } } }"
    assert (await member.client.execute(counts, {"c": channel})).ok()["channel"] == {
        "unreadCount": 0
    }
    states = "{ me { readStates { channelId lastReadMessageId } } }"
    assert (await member.client.execute(states)).ok()["me"]["readStates"] == [
        {"channelId": channel, "lastReadMessageId": sent}
    ]
    # The owner has read nothing: the join notice and the member's message are unread.
    assert (await owner.client.execute(counts, {"c": channel})).ok()["channel"] == {
        "unreadCount": 2
    }
