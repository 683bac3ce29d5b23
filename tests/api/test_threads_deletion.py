"""Deleting a text channel that has threads: each thread is announced gone on `events` (to
those who could see the parent), and neither the threads nor their messages can be reached
afterwards, on the SQL message store and on Cassandra."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.guilds import invite_and_join, make_world


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Thread timelines on the SQL database, and on a real Cassandra node."""
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


CREATE_CHANNEL = """mutation($g: ID!, $n: String!) {
  createChannel(input: {guildId: $g, type: TEXT, name: $n}) { channel { id } } }"""
DELETE_CHANNEL = "mutation($c: ID!) { deleteChannel(input: {channelId: $c}) { channelId } }"
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
CREATE = """mutation($c: ID!, $n: String!, $m: ID) {
  createThread(input: {channelId: $c, name: $n, fromMessageId: $m}) { thread { id } } }"""
JOIN = "mutation($t: ID!) { joinThread(input: {threadId: $t}) { thread { id } } }"
HIDE = """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {channelId: $c,
  targetType: MEMBER, targetId: $u, deny: [VIEW_CHANNELS]}) { overwrite { channelId } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
HISTORY = """query($c: ID!) { node(id: $c) { ... on TextBasedChannel {
  messages(last: 20) { edges { node { id } } } } } }"""
THREADS = """query($c: ID!) { node(id: $c) { ... on TextChannel {
  threads { edges { node { id } } } } } }"""
SEARCH = """query($g: ID!, $q: String!) { searchMessages(input: {guildId: $g, query: $q}) {
  totalCount edges { node { message { id } } } } }"""
MENTIONS = "query { me { mentions(first: 20) { edges { node { id } } } } }"
EVENTS = """subscription { events { __typename
  ... on ThreadDeleted { thread { id parentId } }
  ... on ChannelDeleted { channel { id } } } }"""


async def _id(client: GraphQLClient, query: str, variables: dict[str, Any], *path: str) -> str:
    data = (await client.execute(query, variables)).ok()
    for key in path:
        data = data[key]
    return str(data)


async def _found(client: GraphQLClient, guild_id: str, word: str) -> list[str]:
    page = (await client.execute(SEARCH, {"g": guild_id, "q": word})).ok()["searchMessages"]
    return [e["node"]["message"]["id"] for e in page["edges"]]


async def _until_found(client: GraphQLClient, guild_id: str, word: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(await _found(client, guild_id, word)) != count:
        assert time.monotonic() < deadline, f"{word} never indexed"
        await asyncio.sleep(0.05)


async def test_deleting_a_channel_deletes_its_threads_announced_one_by_one(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    owner, member = w.owner.client, w.member.client
    doomed = await _id(
        owner, CREATE_CHANNEL, {"g": w.guild_id, "n": "doomed"}, "createChannel", "channel", "id"
    )
    blind = await signed_up(client)
    await invite_and_join(w.owner, blind, w.text_id)
    (await owner.execute(HIDE, {"c": doomed, "u": blind.id})).ok()
    word = f"w{uuid.uuid4().hex[:10]}"
    origin = await _id(
        owner, SEND, {"c": doomed, "t": "start here"}, "sendMessage", "message", "id"
    )
    from_message = await _id(
        owner, CREATE, {"c": doomed, "n": "one", "m": origin}, "createThread", "thread", "id"
    )
    standalone = await _id(owner, CREATE, {"c": doomed, "n": "two"}, "createThread", "thread", "id")
    survivor = await _id(
        owner, CREATE, {"c": w.text_id, "n": "elsewhere"}, "createThread", "thread", "id"
    )
    (await member.execute(JOIN, {"t": standalone})).ok()
    in_threads = [
        await _id(
            owner,
            SEND,
            {"c": t, "t": f"{word} <@{w.member.id}>"},
            "sendMessage",
            "message",
            "id",
        )
        for t in (from_message, standalone)
    ]
    kept = await _id(owner, SEND, {"c": survivor, "t": word}, "sendMessage", "message", "id")
    # Guild search covers threads, as their parent's permissions allow.
    await _until_found(member, w.guild_id, word, 3)
    assert await _found(blind.client, w.guild_id, word) == [kept]
    mentions = (await member.execute(MENTIONS)).ok()["me"]["mentions"]["edges"]
    assert {e["node"]["id"] for e in mentions} == set(in_threads)

    async with (
        ws_connect(client.ws_url, payload={"authorization": w.member.token}) as ws,
        ws_connect(client.ws_url, payload={"authorization": blind.token}) as hidden,
    ):
        op = await ws.subscribe(EVENTS)
        hidden_op = await hidden.subscribe(EVENTS)
        await ws.barrier()
        await hidden.barrier()
        (await owner.execute(DELETE_CHANNEL, {"c": doomed})).ok()
        seen = [(await ws.receive(op))["payload"]["data"]["events"] for _ in range(3)]
        # Each thread goes first, while its parent can still be judged, then the channel.
        assert sorted(e["thread"]["id"] for e in seen[:2]) == sorted([from_message, standalone])
        assert all(e == {**e, "__typename": "ThreadDeleted"} for e in seen[:2])
        assert all(e["thread"]["parentId"] == doomed for e in seen[:2])
        assert seen[2] == {"__typename": "ChannelDeleted", "channel": {"id": doomed}}
        await ws.expect_silence(op)
        await hidden.expect_silence(hidden_op)

    for thread in (from_message, standalone):
        for c in (owner, member):
            (await c.execute(NODE, {"id": thread})).error("NOT_FOUND")
            (await c.execute(HISTORY, {"c": thread})).error("NOT_FOUND")
            (await c.execute(JOIN, {"t": thread})).error("NOT_FOUND")
            (await c.execute(SEND, {"c": thread, "t": "anyone?"})).error("NOT_FOUND")
    for message in (origin, *in_threads):
        (await owner.execute(NODE, {"id": message})).error("NOT_FOUND")
    assert await _found(owner, w.guild_id, word) == [kept]
    assert (await member.execute(MENTIONS)).ok()["me"]["mentions"]["edges"] == []
    # The other channel's thread and its message are untouched.
    threads = (await member.execute(THREADS, {"c": w.text_id})).ok()["node"]["threads"]["edges"]
    assert [e["node"]["id"] for e in threads] == [survivor]
    assert (await member.execute(NODE, {"id": kept})).ok()["node"]["id"] == kept
