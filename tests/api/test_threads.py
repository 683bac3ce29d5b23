"""Threads through GraphQL: starting one (from a message or on its own), messages in it, its
permissions (the parent's), archiving and locking, membership, auto-archive, and its events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.guilds import World, grant, invite_and_join, make_world
from tests.support.server import RunningServer


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Thread timelines on the SQL database, and on a real Cassandra node (same partitioning
    as channels: a thread is a channel)."""
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


SEND = """mutation($c: ID!, $t: String!, $r: ID) {
  sendMessage(input: {channelId: $c, content: $t, replyTo: $r}) { message { id type referenceId } } }"""
CREATE = """mutation($c: ID!, $n: String!, $m: ID, $a: Int) {
  createThread(input: {channelId: $c, name: $n, fromMessageId: $m, autoArchiveMinutes: $a}) {
    thread { id name type parentId ownerId starterMessageId archived locked autoArchiveMinutes
             parent { id } } } }"""
UPDATE = """mutation($t: ID!, $n: String, $a: Boolean, $l: Boolean, $m: Int) {
  updateThread(input: {threadId: $t, name: $n, archived: $a, locked: $l, autoArchiveMinutes: $m}) {
    thread { id name archived locked autoArchiveMinutes } } }"""
DELETE = "mutation($t: ID!) { deleteThread(input: {threadId: $t}) { threadId } }"
JOIN = "mutation($t: ID!) { joinThread(input: {threadId: $t}) { thread { id } } }"
LEAVE = "mutation($t: ID!) { leaveThread(input: {threadId: $t}) { thread { id } } }"
THREAD = """query($t: ID!) { node(id: $t) { ... on ThreadChannel {
  id name archived archivedAt locked autoArchiveMinutes messageCount lastMessageId
  members(first: 10) { edges { node { userId } } } } } }"""
THREADS = """query($c: ID!, $a: Boolean) { node(id: $c) { ... on TextChannel {
  threads(archived: $a) { edges { node { id name archived } } } } } }"""
HISTORY = """query($c: ID!) { node(id: $c) { ... on TextBasedChannel {
  messages(last: 20) { edges { node { id type content referenceId thread { id } } } } } } }"""
OVERWRITE = """mutation($c: ID!, $t: ID!, $k: OverwriteTarget!, $a: [Permission!], $d: [Permission!]) {
  setChannelPermissionOverwrite(input: {channelId: $c, targetType: $k, targetId: $t, allow: $a, deny: $d}) {
    overwrite { channelId } } }"""


async def _send(client: GraphQLClient, channel: str, text: str, reply: str | None = None) -> str:
    result = await client.execute(SEND, {"c": channel, "t": text, "r": reply})
    return str(result.ok()["sendMessage"]["message"]["id"])


async def _thread(w: World, *, name: str = "talk", message: str | None = None) -> dict[str, Any]:
    result = await w.owner.client.execute(CREATE, {"c": w.text_id, "n": name, "m": message})
    thread: dict[str, Any] = result.ok()["createThread"]["thread"]
    return thread


async def _thread_state(client: GraphQLClient, thread_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await client.execute(THREAD, {"t": thread_id})).ok()["node"]
    return data


async def _threads(client: GraphQLClient, channel: str, archived: bool | None = None) -> list[str]:
    data = (await client.execute(THREADS, {"c": channel, "a": archived})).ok()["node"]
    return [e["node"]["id"] for e in data["threads"]["edges"]]


async def _history(client: GraphQLClient, channel: str) -> list[dict[str, Any]]:
    data = (await client.execute(HISTORY, {"c": channel})).ok()["node"]
    return [e["node"] for e in data["messages"]["edges"]]


async def test_a_thread_from_a_message_links_both_ways_and_is_announced_in_the_parent(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    origin = await _send(w.owner.client, w.text_id, "let's discuss")
    thread = await _thread(w, name="Discussion", message=origin)
    assert thread["type"] == "THREAD"
    assert thread["parentId"] == w.text_id
    assert thread["parent"] == {"id": w.text_id}
    assert thread["starterMessageId"] == origin
    assert thread["ownerId"] == w.owner.id
    assert thread["autoArchiveMinutes"] == 1440
    history = await _history(w.member.client, w.text_id)
    by_id = {m["id"]: m for m in history}
    assert by_id[origin]["thread"] == {"id": thread["id"]}
    notice = history[-1]
    assert notice["type"] == "THREAD_CREATED"
    assert notice["referenceId"] == thread["id"]
    assert notice["content"] == "Discussion"
    assert notice["thread"] == {"id": thread["id"]}
    # The thread opens with a message naming the one it was started from.
    opening = await _history(w.member.client, thread["id"])
    assert [(m["type"], m["referenceId"]) for m in opening] == [("THREAD_STARTER", origin)]
    # Listed under its channel, not among the guild's channels; its creator is a member.
    assert await _threads(w.member.client, w.text_id) == [thread["id"]]
    channels = (
        await w.member.client.execute(
            "query($g: ID!) { guild(id: $g) { channels { id } } }", {"g": w.guild_id}
        )
    ).ok()["guild"]["channels"]
    assert thread["id"] not in [c["id"] for c in channels]
    state = await _thread_state(w.member.client, thread["id"])
    assert [e["node"]["userId"] for e in state["members"]["edges"]] == [w.owner.id]
    # One thread per message.
    (await w.owner.client.execute(CREATE, {"c": w.text_id, "n": "again", "m": origin})).error(
        "CONFLICT"
    )


async def test_messages_replies_reactions_pins_and_read_states_work_in_a_thread(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    first = await _send(w.member.client, thread, f"hello <@{w.owner.id}>")
    reply = await _send(w.owner.client, thread, "hi back", reply=first)
    history = await _history(w.member.client, thread)
    assert [m["id"] for m in history] == [first, reply]
    assert history[1]["referenceId"] == first
    (
        await w.member.client.execute(
            """mutation($m: ID!) { addReaction(input: {messageId: $m, emoji: {unicode: "👍"}}) {
              message { reactions { count } } } }""",
            {"m": reply},
        )
    ).ok()
    (
        await w.owner.client.execute(
            "mutation($m: ID!) { pinMessage(input: {messageId: $m}) { message { pinned } } }",
            {"m": first},
        )
    ).ok()
    data = (
        await w.owner.client.execute(
            """query($t: ID!) { node(id: $t) { ... on ThreadChannel {
              pins { id } unreadCount mentionCount messageCount lastMessageId } } }""",
            {"t": thread},
        )
    ).ok()["node"]
    assert [p["id"] for p in data["pins"]] == [first]
    # The owner wrote the reply (their marker moved to it); the pin notice came after.
    assert data["unreadCount"] == 1
    assert data["mentionCount"] == 0
    assert data["messageCount"] == 3  # two messages and the pin notice
    history = await _history(w.owner.client, thread)
    assert data["lastMessageId"] == history[-1]["id"]
    # Replies reach only messages of the same thread.
    (await w.owner.client.execute(SEND, {"c": w.text_id, "t": "x", "r": first})).error("NOT_FOUND")


async def test_sending_in_a_thread_takes_send_messages_in_threads(client: GraphQLClient) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    # Without SEND_MESSAGES in the parent, threads still take messages...
    (
        await w.owner.client.execute(
            OVERWRITE,
            {"c": w.text_id, "t": w.guild_id, "k": "ROLE", "a": [], "d": ["SEND_MESSAGES"]},
        )
    ).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "parent"})).error("FORBIDDEN")
    await _send(w.member.client, thread, "in the thread")
    # ...and without SEND_MESSAGES_IN_THREADS they do not.
    (
        await w.owner.client.execute(
            OVERWRITE,
            {
                "c": w.text_id,
                "t": w.guild_id,
                "k": "ROLE",
                "a": ["SEND_MESSAGES"],
                "d": ["SEND_MESSAGES_IN_THREADS"],
            },
        )
    ).ok()
    before = await _thread_state(w.owner.client, thread)
    (await w.member.client.execute(SEND, {"c": thread, "t": "refused"})).error("FORBIDDEN")
    assert await _thread_state(w.owner.client, thread) == before
    await _send(w.member.client, w.text_id, "parent again")


async def test_thread_visibility_follows_the_parents_overwrites(client: GraphQLClient) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    await _send(w.owner.client, thread, "secret")
    (
        await w.owner.client.execute(
            OVERWRITE,
            {"c": w.text_id, "t": w.member.id, "k": "MEMBER", "a": [], "d": ["VIEW_CHANNELS"]},
        )
    ).ok()
    for query, variables in (
        (THREAD, {"t": thread}),
        (SEND, {"c": thread, "t": "x"}),
        (JOIN, {"t": thread}),
        (HISTORY, {"c": thread}),
        (THREADS, {"c": w.text_id}),
        (CREATE, {"c": w.text_id, "n": "x"}),
    ):
        result = await w.member.client.execute(query, variables)
        if result.errors:
            assert result.codes == ["NOT_FOUND"], (query, result.errors)
        else:
            assert result.data["node"] is None, query
    # An outsider sees nothing either.
    for query, variables in (
        (SEND, {"c": thread, "t": "x"}),
        (JOIN, {"t": thread}),
        (LEAVE, {"t": thread}),
        (UPDATE, {"t": thread, "a": True}),
        (DELETE, {"t": thread}),
        (CREATE, {"c": w.text_id, "n": "x"}),
    ):
        (await w.outsider.client.execute(query, variables)).error("NOT_FOUND")
    # A private parent opened to a role opens its threads to that role.
    (
        await w.owner.client.execute(
            "mutation($c: ID!) { updateChannel(input: {channelId: $c, private: true}) { channel { id } } }",
            {"c": w.text_id},
        )
    ).ok()
    (
        await w.owner.client.execute(
            "mutation($c: ID!, $t: ID!) { deleteChannelPermissionOverwrite(input: {channelId: $c, targetType: MEMBER, targetId: $t}) { channelId } }",
            {"c": w.text_id, "t": w.member.id},
        )
    ).ok()
    (await w.member.client.execute(THREAD, {"t": thread})).error("NOT_FOUND")
    role = await grant(w, w.member, [], "readers")
    (
        await w.owner.client.execute(
            OVERWRITE, {"c": w.text_id, "t": role, "k": "ROLE", "a": ["VIEW_CHANNELS"], "d": []}
        )
    ).ok()
    assert (await _thread_state(w.member.client, thread))["id"] == thread


async def test_starting_a_thread_takes_create_threads(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await w.owner.client.execute(
            OVERWRITE,
            {"c": w.text_id, "t": w.guild_id, "k": "ROLE", "a": [], "d": ["CREATE_THREADS"]},
        )
    ).ok()
    origin = await _send(w.member.client, w.text_id, "mine")
    (await w.member.client.execute(CREATE, {"c": w.text_id, "n": "t", "m": origin})).error(
        "FORBIDDEN"
    )
    assert await _threads(w.owner.client, w.text_id) == []
    await grant(w, w.member, ["CREATE_THREADS"])
    (
        await w.owner.client.execute(
            OVERWRITE, {"c": w.text_id, "t": w.guild_id, "k": "ROLE", "a": [], "d": []}
        )
    ).ok()
    (await w.member.client.execute(CREATE, {"c": w.text_id, "n": "t", "m": origin})).ok()
    # Bad input: a voice channel, a message of another channel, an unknown delay.
    (await w.member.client.execute(CREATE, {"c": w.voice_id, "n": "t"})).error("BAD_USER_INPUT")
    (await w.member.client.execute(CREATE, {"c": w.text_id, "n": "t", "a": 5})).error(
        "BAD_USER_INPUT"
    )
    (await w.member.client.execute(CREATE, {"c": w.text_id, "n": " "})).error("BAD_USER_INPUT")


async def test_archive_and_lock_take_manage_threads_or_the_creator(client: GraphQLClient) -> None:
    w = await make_world(client)
    mod = w.member
    creator_thread = (
        await w.member.client.execute(CREATE, {"c": w.text_id, "n": "by-member"})
    ).ok()["createThread"]["thread"]["id"]
    owners = (await _thread(w, name="by-owner"))["id"]
    # Not the creator and no MANAGE_THREADS: refused, nothing changes.
    before = await _thread_state(w.owner.client, owners)
    for variables in ({"a": True}, {"l": True}, {"n": "renamed"}, {"m": 60}):
        (await w.member.client.execute(UPDATE, {"t": owners, **variables})).error("FORBIDDEN")
    (await w.member.client.execute(DELETE, {"t": owners})).error("FORBIDDEN")
    assert await _thread_state(w.owner.client, owners) == before
    # The creator archives, renames and locks their own...
    done = (
        await w.member.client.execute(UPDATE, {"t": creator_thread, "a": True, "n": "renamed"})
    ).ok()["updateThread"]["thread"]
    assert (done["archived"], done["name"]) == (True, "renamed")
    assert creator_thread in await _threads(w.owner.client, w.text_id, archived=True)
    assert creator_thread not in await _threads(w.owner.client, w.text_id, archived=False)
    (await w.member.client.execute(UPDATE, {"t": creator_thread, "a": False, "l": True})).ok()
    # ...but once locked, only MANAGE_THREADS changes it or sends in it.
    before = await _thread_state(w.owner.client, creator_thread)
    (await w.member.client.execute(UPDATE, {"t": creator_thread, "l": False})).error("FORBIDDEN")
    (await w.member.client.execute(SEND, {"c": creator_thread, "t": "x"})).error("FORBIDDEN")
    (await w.member.client.execute(DELETE, {"t": creator_thread})).error("FORBIDDEN")
    assert await _thread_state(w.owner.client, creator_thread) == before
    await _send(w.owner.client, creator_thread, "moderators still talk")
    # A member given MANAGE_THREADS manages any thread.
    await grant(w, mod, ["MANAGE_THREADS"])
    (await mod.client.execute(UPDATE, {"t": owners, "l": True, "m": 60})).ok()
    await _send(mod.client, owners, "allowed while locked")
    (await mod.client.execute(DELETE, {"t": owners})).ok()
    (await w.owner.client.execute(THREAD, {"t": owners})).error("NOT_FOUND")
    assert owners not in await _threads(w.owner.client, w.text_id)


async def test_a_send_reopens_an_archived_thread_unless_it_is_locked(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    (await w.owner.client.execute(UPDATE, {"t": thread, "a": True})).ok()
    assert (await _thread_state(w.member.client, thread))["archivedAt"] is not None
    await _send(w.member.client, thread, "back again")
    state = await _thread_state(w.member.client, thread)
    assert (state["archived"], state["archivedAt"]) == (False, None)
    (await w.owner.client.execute(UPDATE, {"t": thread, "a": True, "l": True})).ok()
    before = await _thread_state(w.owner.client, thread)
    (await w.member.client.execute(SEND, {"c": thread, "t": "locked out"})).error("FORBIDDEN")
    assert await _thread_state(w.owner.client, thread) == before


async def test_members_join_and_leave(client: GraphQLClient) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    (await w.member.client.execute(JOIN, {"t": thread})).ok()
    (await w.member.client.execute(JOIN, {"t": thread})).ok()  # twice changes nothing
    members = (await _thread_state(w.owner.client, thread))["members"]["edges"]
    assert sorted(e["node"]["userId"] for e in members) == sorted([w.owner.id, w.member.id])
    (await w.member.client.execute(LEAVE, {"t": thread})).ok()
    (await w.member.client.execute(LEAVE, {"t": thread})).ok()
    members = (await _thread_state(w.owner.client, thread))["members"]["edges"]
    assert [e["node"]["userId"] for e in members] == [w.owner.id]
    # A channel id is not a thread.
    (await w.member.client.execute(JOIN, {"t": w.text_id})).error("NOT_FOUND")


KICK = "mutation($g: ID!, $u: ID!) { kickMember(input: {guildId: $g, userId: $u}) { userId } }"
LEAVE_GUILD = "mutation($g: ID!) { leaveGuild(input: {guildId: $g}) { guildId } }"
DELETE_ACCOUNT = "mutation($p: String!) { deleteAccount(input: {password: $p}) { ok } }"


async def _thread_member_ids(w: World, thread: str) -> list[str]:
    members = (await _thread_state(w.owner.client, thread))["members"]["edges"]
    return sorted(e["node"]["userId"] for e in members)


async def test_leaving_the_guild_in_any_way_ends_thread_memberships(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    (await w.member.client.execute(JOIN, {"t": thread})).ok()
    (await w.owner.client.execute(KICK, {"g": w.guild_id, "u": w.member.id})).ok()
    assert await _thread_member_ids(w, thread) == [w.owner.id]

    other = await signed_up(client)
    await invite_and_join(w.owner, other, w.text_id)
    (await other.client.execute(JOIN, {"t": thread})).ok()
    (await other.client.execute(LEAVE_GUILD, {"g": w.guild_id})).ok()
    assert await _thread_member_ids(w, thread) == [w.owner.id]

    gone = await signed_up(client)
    await invite_and_join(w.owner, gone, w.text_id)
    (await gone.client.execute(JOIN, {"t": thread})).ok()
    (await gone.client.execute(DELETE_ACCOUNT, {"p": gone.password})).ok()
    assert await _thread_member_ids(w, thread) == [w.owner.id]


async def test_idle_threads_are_archived_after_their_delay(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    hourly = (await w.owner.client.execute(CREATE, {"c": w.text_id, "n": "hourly", "a": 60})).ok()[
        "createThread"
    ]["thread"]["id"]
    daily = (await _thread(w, name="daily"))["id"]
    await _send(w.member.client, daily, "keeps it busy")
    services = server.services
    await services.threads.archive_inactive()
    assert (await _thread_state(w.owner.client, hourly))["archived"] is False
    services.clock.advance(timedelta(minutes=61))
    await services.threads.archive_inactive()
    assert (await _thread_state(w.owner.client, hourly))["archived"] is True
    assert (await _thread_state(w.owner.client, daily))["archived"] is False
    services.clock.advance(timedelta(days=1))
    await services.threads.archive_inactive()
    assert (await _thread_state(w.owner.client, daily))["archived"] is True


EVENTS = """subscription { events { __typename
  ... on ThreadCreated { thread { id name parentId } }
  ... on ThreadUpdated { thread { id archived locked } }
  ... on ThreadDeleted { thread { id } }
  ... on ThreadMembersUpdated { thread { id } addedUserIds removedUserIds }
  ... on MessageCreated { message { channelId content } }
} }"""


async def test_thread_events_reach_those_who_see_the_parent(client: GraphQLClient) -> None:
    w = await make_world(client)
    hidden = await make_world(client)  # only to get a second member
    onlooker = hidden.member
    await invite_and_join(w.owner, onlooker, w.text_id)
    (
        await w.owner.client.execute(
            OVERWRITE,
            {"c": w.text_id, "t": onlooker.id, "k": "MEMBER", "a": [], "d": ["VIEW_CHANNELS"]},
        )
    ).ok()
    async with (
        ws_connect(client.ws_url, payload={"authorization": w.member.token}) as ws,
        ws_connect(client.ws_url, payload={"authorization": onlooker.token}) as blind,
    ):
        op = await ws.subscribe(EVENTS)
        blind_op = await blind.subscribe(EVENTS)
        await ws.barrier()
        await blind.barrier()
        thread = (await _thread(w))["id"]
        created = await ws.receive(op)
        assert created["payload"]["data"]["events"] == {
            "__typename": "ThreadCreated",
            "thread": {"id": thread, "name": "talk", "parentId": w.text_id},
        }
        notice = await ws.receive(op)  # the THREAD_CREATED notice in the parent
        assert notice["payload"]["data"]["events"]["message"]["channelId"] == w.text_id
        (await w.member.client.execute(JOIN, {"t": thread})).ok()
        joined = (await ws.receive(op))["payload"]["data"]["events"]
        assert joined == {
            "__typename": "ThreadMembersUpdated",
            "thread": {"id": thread},
            "addedUserIds": [w.member.id],
            "removedUserIds": [],
        }
        await _send(w.owner.client, thread, "in thread")
        sent = (await ws.receive(op))["payload"]["data"]["events"]
        assert sent["message"] == {"channelId": thread, "content": "in thread"}
        (await w.owner.client.execute(UPDATE, {"t": thread, "l": True})).ok()
        updated = (await ws.receive(op))["payload"]["data"]["events"]
        assert updated == {
            "__typename": "ThreadUpdated",
            "thread": {"id": thread, "archived": False, "locked": True},
        }
        (await w.owner.client.execute(DELETE, {"t": thread})).ok()
        deleted = (await ws.receive(op))["payload"]["data"]["events"]
        assert deleted == {"__typename": "ThreadDeleted", "thread": {"id": thread}}
        await blind.expect_silence(blind_op)


CHANNEL_EVENTS = """subscription($c: ID!) { channelEvents(channelId: $c) { __typename
  ... on TypingStarted { channelId userId } ... on MessageCreated { message { channelId content } } } }"""
TYPING = """subscription($c: ID!) { typing(channelId: $c) { __typename
  ... on TypingStarted { channelId userId } } }"""


async def test_typing_and_channel_events_work_in_a_thread(client: GraphQLClient) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    async with ws_connect(client.ws_url, payload={"authorization": w.owner.token}) as ws:
        events = await ws.subscribe(CHANNEL_EVENTS, {"c": thread})
        typing = await ws.subscribe(TYPING, {"c": thread})
        await ws.barrier()
        (
            await w.member.client.execute(
                "mutation($c: ID!) { startTyping(input: {channelId: $c}) { expiresAt } }",
                {"c": thread},
            )
        ).ok()
        seen = (await ws.receive(typing))["payload"]["data"]["typing"]
        assert seen == {"__typename": "TypingStarted", "channelId": thread, "userId": w.member.id}
        first = (await ws.receive(events))["payload"]["data"]["channelEvents"]
        assert first == {"__typename": "TypingStarted", "channelId": thread, "userId": w.member.id}
        await _send(w.member.client, thread, "typed it")
        sent = (await ws.receive(events))["payload"]["data"]["channelEvents"]
        assert sent["message"] == {"channelId": thread, "content": "typed it"}
    # The parent's own stream does not carry the thread's messages.
    async with ws_connect(client.ws_url, payload={"authorization": w.owner.token}) as ws:
        parent = await ws.subscribe(CHANNEL_EVENTS, {"c": w.text_id})
        await ws.barrier()
        await _send(w.member.client, thread, "not for the parent")
        await ws.expect_silence(parent)


VISIBILITY = """subscription { events { __typename
  ... on ChannelVisibilityLost { channelId }
  ... on ChannelVisibilityGained { channel { id type } }
  ... on MessageCreated { message { channelId } } } }"""


async def test_hiding_the_parent_hides_its_threads_on_the_event_stream(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    thread = (await _thread(w))["id"]
    async with ws_connect(client.ws_url, payload={"authorization": w.member.token}) as ws:
        op = await ws.subscribe(VISIBILITY)
        await ws.barrier()
        hide = {"c": w.text_id, "t": w.member.id, "k": "MEMBER", "a": [], "d": ["VIEW_CHANNELS"]}
        (await w.owner.client.execute(OVERWRITE, hide)).ok()
        lost = {(await ws.receive(op))["payload"]["data"]["events"]["channelId"] for _ in range(2)}
        assert lost == {w.text_id, thread}
        await _send(w.owner.client, thread, "unseen")
        await ws.expect_silence(op)
        (await w.owner.client.execute(OVERWRITE, {**hide, "d": []})).ok()
        gained = [(await ws.receive(op))["payload"]["data"]["events"] for _ in range(2)]
        assert {(g["channel"]["id"], g["channel"]["type"]) for g in gained} == {
            (w.text_id, "TEXT"),
            (thread, "THREAD"),
        }
        assert (await ws.receive(op))["payload"]["data"]["events"] == {
            "__typename": "OverwriteUpdated"  # the change that showed them, now visible
        }
        await _send(w.owner.client, thread, "seen")
        seen = (await ws.receive(op))["payload"]["data"]["events"]
        assert seen == {"__typename": "MessageCreated", "message": {"channelId": thread}}
