from __future__ import annotations

import asyncio
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


SEND = """
mutation($c: ID!, $content: String!, $nonce: String, $reply: ID) {
  sendMessage(input: {channelId: $c, content: $content, nonce: $nonce, replyTo: $reply}) {
    created message { id content type referenceId authorId mentions { userIds roleIds everyone } }
  }
}"""

HISTORY = """
query($c: ID!, $first: Int, $after: String, $last: Int, $before: String, $around: ID) {
  channel(id: $c) { ... on TextChannel {
    messages(first: $first, after: $after, last: $last, before: $before, around: $around) {
      edges { cursor node { id content } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  } }
}"""


async def _setup(client: GraphQLClient):  # type: ignore[no-untyped-def]
    owner = await signed_up(client)
    guild = await create_guild(owner)
    channel = guild["channels"][0]["id"]
    return owner, guild, channel


async def test_retry_with_same_nonce_returns_first_message(client: GraphQLClient) -> None:
    owner, _, channel = await _setup(client)
    first = (await owner.client.execute(SEND, {"c": channel, "content": "hi", "nonce": "n-1"})).ok()
    again = (await owner.client.execute(SEND, {"c": channel, "content": "hi", "nonce": "n-1"})).ok()
    assert first["sendMessage"]["created"] is True
    assert again["sendMessage"] == {**first["sendMessage"], "created": False}
    history = (await owner.client.execute(HISTORY, {"c": channel})).ok()
    assert len(history["channel"]["messages"]["edges"]) == 1


async def test_concurrent_retries_with_one_nonce_store_one_message(client: GraphQLClient) -> None:
    owner, _, channel = await _setup(client)
    results = await asyncio.gather(
        *(
            owner.client.execute(SEND, {"c": channel, "content": "once", "nonce": "race"})
            for _ in range(5)
        )
    )
    ids = {r.ok()["sendMessage"]["message"]["id"] for r in results}
    assert len(ids) == 1
    assert sum(r.ok()["sendMessage"]["created"] for r in results) == 1
    history = (await owner.client.execute(HISTORY, {"c": channel})).ok()
    assert [e["node"]["id"] for e in history["channel"]["messages"]["edges"]] == list(ids)


async def test_history_pages_backwards_and_forwards_by_cursor(client: GraphQLClient) -> None:
    owner, _, channel = await _setup(client)
    sent = []
    for i in range(7):
        sent.append(
            (await owner.client.execute(SEND, {"c": channel, "content": f"m{i}"})).ok()[
                "sendMessage"
            ]["message"]["id"]
        )
    newest = (await owner.client.execute(HISTORY, {"c": channel, "last": 3})).ok()["channel"][
        "messages"
    ]
    assert [e["node"]["content"] for e in newest["edges"]] == ["m4", "m5", "m6"]
    assert (
        newest["pageInfo"]["hasPreviousPage"] is True and newest["pageInfo"]["hasNextPage"] is False
    )
    older = (
        await owner.client.execute(
            HISTORY, {"c": channel, "last": 3, "before": newest["pageInfo"]["startCursor"]}
        )
    ).ok()
    assert [e["node"]["content"] for e in older["channel"]["messages"]["edges"]] == [
        "m1",
        "m2",
        "m3",
    ]
    forward = (
        await owner.client.execute(
            HISTORY,
            {
                "c": channel,
                "first": 10,
                "after": older["channel"]["messages"]["pageInfo"]["endCursor"],
            },
        )
    ).ok()
    assert [e["node"]["content"] for e in forward["channel"]["messages"]["edges"]] == [
        "m4",
        "m5",
        "m6",
    ]
    around = (
        await owner.client.execute(HISTORY, {"c": channel, "last": 3, "around": sent[3]})
    ).ok()
    assert [e["node"]["content"] for e in around["channel"]["messages"]["edges"]] == [
        "m2",
        "m3",
        "m4",
    ]


async def test_empty_channel_has_empty_history(client: GraphQLClient) -> None:
    owner, _, channel = await _setup(client)
    page = (await owner.client.execute(HISTORY, {"c": channel})).ok()["channel"]["messages"]
    assert page == {
        "edges": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


async def test_member_without_send_permission_is_refused_and_nothing_is_stored(
    client: GraphQLClient,
) -> None:
    owner, _guild, channel = await _setup(client)
    member = await signed_up(client)
    await invite_and_join(owner, member, channel)
    (
        await owner.client.execute(
            "mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {channelId: $c, targetType: MEMBER, targetId: $u, deny: [SEND_MESSAGES]}) { overwrite { targetId } } }",
            {"c": channel, "u": member.id},
        )
    ).ok()
    (await member.client.execute(SEND, {"c": channel, "content": "nope"})).error("FORBIDDEN")
    history = (await owner.client.execute(HISTORY, {"c": channel})).ok()
    contents = [e["node"]["content"] for e in history["channel"]["messages"]["edges"]]
    assert "nope" not in contents


async def test_edit_delete_and_mentions(client: GraphQLClient) -> None:
    owner, _guild, channel = await _setup(client)
    member = await signed_up(client)
    await invite_and_join(owner, member, channel)
    sent = (
        await member.client.execute(SEND, {"c": channel, "content": f"hey <@{owner.id}> @everyone"})
    ).ok()["sendMessage"]["message"]
    # @everyone needs MENTION_ROLES, which @everyone's default mask lacks.
    assert sent["mentions"] == {"userIds": [owner.id], "roleIds": [], "everyone": False}
    (
        await owner.client.execute(
            'mutation($m: ID!) { editMessage(input: {messageId: $m, content: "x"}) { message { id } } }',
            {"m": sent["id"]},
        )
    ).error("FORBIDDEN")
    edited = (
        await member.client.execute(
            'mutation($m: ID!) { editMessage(input: {messageId: $m, content: "fixed"}) { message { content editedAt } } }',
            {"m": sent["id"]},
        )
    ).ok()
    assert (
        edited["editMessage"]["message"]["content"] == "fixed"
        and edited["editMessage"]["message"]["editedAt"]
    )
    reply = (
        await owner.client.execute(SEND, {"c": channel, "content": "re", "reply": sent["id"]})
    ).ok()["sendMessage"]["message"]
    assert reply["type"] == "REPLY" and reply["referenceId"] == sent["id"]
    (
        await member.client.execute(
            "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }",
            {"m": reply["id"]},
        )
    ).error("FORBIDDEN")
    (
        await owner.client.execute(
            "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }",
            {"m": sent["id"]},
        )
    ).ok()
    (
        await owner.client.execute("query($m: ID!) { message(id: $m) { id } }", {"m": sent["id"]})
    ).error("NOT_FOUND")
    contents = [
        e["node"]["content"]
        for e in (await owner.client.execute(HISTORY, {"c": channel})).ok()["channel"]["messages"][
            "edges"
        ]
    ]
    assert contents == ["", "re"]  # the member-joined notice, then the reply


async def test_bad_message_input_is_refused(client: GraphQLClient) -> None:
    owner, _guild, channel = await _setup(client)
    (await owner.client.execute(SEND, {"c": channel, "content": "   "})).error("BAD_USER_INPUT")
    (await owner.client.execute(SEND, {"c": channel, "content": "x" * 4001})).error(
        "BAD_USER_INPUT"
    )
    (await owner.client.execute(SEND, {"c": "123", "content": "x"})).error("NOT_FOUND")
    ids = [str(i) for i in range(1, 102)]
    (
        await owner.client.execute(
            "mutation($c: ID!, $ids: [ID!]!) { bulkDeleteMessages(input: {channelId: $c, messageIds: $ids}) { deletedMessageIds } }",
            {"c": channel, "ids": ids},
        )
    ).error("BAD_USER_INPUT")


async def test_channel_knows_its_last_message_and_dm_counts(client: GraphQLClient) -> None:
    owner, _, channel = await _setup(client)
    query = "query($c: ID!) { channel(id: $c) { ... on TextChannel { lastMessageId } } }"
    # The guild's creation posts nothing: a new channel is empty.
    assert (await owner.client.execute(query, {"c": channel})).ok()["channel"][
        "lastMessageId"
    ] is None
    sent = (await owner.client.execute(SEND, {"c": channel, "content": "latest"})).ok()[
        "sendMessage"
    ]["message"]["id"]
    assert (await owner.client.execute(query, {"c": channel})).ok()["channel"][
        "lastMessageId"
    ] == sent
