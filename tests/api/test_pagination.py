"""Every connection field reads its arguments the same way: `first` pages from the start of the
list, `last` from its end, both at once are refused, and errors name the argument given."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.client import GraphQLClient, Result
from tests.support.factories import SignedUpUser, signed_up
from tests.support.guilds import invite_and_join, make_world


@dataclass(frozen=True)
class Case:
    """One connection field: how to reach it, and whether it pages backward too."""

    field: str  # Type.field, as in the schema
    query: str  # with {args}; variables $x (the parent's id) and the page arguments
    path: tuple[str, ...]
    backward: bool = False


CASES = [
    Case(
        "TextChannel.messages",
        "query($x: ID!, {vars}) { channel(id: $x) { ... on TextChannel { messages({args}) {page} } } }",
        ("channel", "messages"),
        backward=True,
    ),
    Case(
        "ThreadChannel.messages",
        "query($x: ID!, {vars}) { channel(id: $x) { ... on ThreadChannel { messages({args}) {page} } } }",
        ("channel", "messages"),
        backward=True,
    ),
    Case(
        "TextChannel.threads",
        "query($x: ID!, {vars}) { channel(id: $x) { ... on TextChannel { threads({args}) {page} } } }",
        ("channel", "threads"),
    ),
    Case(
        "ThreadChannel.members",
        "query($x: ID!, {vars}) { channel(id: $x) { ... on ThreadChannel { members({args}) {page} } } }",
        ("channel", "members"),
    ),
    Case(
        "DirectMessageChannel.messages",
        "query($x: ID!, {vars}) { directMessageChannel(id: $x) { messages({args}) {page} } }",
        ("directMessageChannel", "messages"),
        backward=True,
    ),
    Case(
        "Guild.members",
        "query($x: ID!, {vars}) { guild(id: $x) { members({args}) {page} } }",
        ("guild", "members"),
    ),
    Case(
        "Guild.auditLog",
        "query($x: ID!, {vars}) { guild(id: $x) { auditLog({args}) {page} } }",
        ("guild", "auditLog"),
    ),
    Case(
        "Message.reactors",
        'query($x: ID!, {vars}) { message(id: $x) { reactors(emoji: {unicode: "👍"}, {args}) {page} } }',
        ("message", "reactors"),
    ),
    Case(
        "Query.searchMessages",
        "query($x: ID!, {vars}) { searchMessages(input: {guildId: $x}, {args}) {page} }",
        ("searchMessages",),
    ),
    Case(
        "CurrentUser.mentions",
        "query($x: ID!, {vars}) { me { mentions({args}) {page} } user(id: $x) { id } }",
        ("me", "mentions"),
    ),
]

PAGE = "{ edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }"
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
REACT = """mutation($m: ID!) { addReaction(input: {messageId: $m, emoji: {unicode: "👍"}}) {
  message { id } } }"""
OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"
CONNECTIONS = (
    """{ __schema { types { name kind fields { name type { name ofType { name } } } } } }"""
)


def _document(case: Case) -> str:
    names = ["first", "after", *(("last", "before") if case.backward else ())]
    types = {"first": "Int", "last": "Int", "after": "String", "before": "String"}
    return (
        case.query.replace("{vars}", ", ".join(f"${n}: {types[n]}" for n in names))
        .replace("{args}", ", ".join(f"{n}: ${n}" for n in names))
        .replace("{page}", PAGE)
    )


async def _three_of_everything(client: GraphQLClient) -> tuple[SignedUpUser, dict[str, str]]:
    """A viewer who sees at least three items in every connection; the parent id per field."""
    w = await make_world(client)
    third = await signed_up(client)
    await invite_and_join(w.owner, third, w.text_id)
    messages = [
        (await w.member.client.execute(SEND, {"c": w.text_id, "t": f"<@{w.owner.id}> {i}"})).ok()[
            "sendMessage"
        ]["message"]["id"]
        for i in range(3)
    ]
    create = 'mutation($g: ID!) { createChannel(input: {guildId: $g, type: TEXT, name: "more"}) { channel { id } } }'
    (await w.owner.client.execute(create, {"g": w.guild_id})).ok()  # a third audit entry
    for user in (w.owner, w.member, third):
        (await user.client.execute(REACT, {"m": messages[0]})).ok()
    dm = (await w.owner.client.execute(OPEN_DM, {"u": w.member.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    for i in range(3):
        (await w.owner.client.execute(SEND, {"c": dm, "t": f"dm {i}"})).ok()
    start = "mutation($c: ID!, $n: String!) { createThread(input: {channelId: $c, name: $n}) { thread { id } } }"
    threads = [
        (await w.owner.client.execute(start, {"c": w.text_id, "n": f"t{i}"})).ok()["createThread"][
            "thread"
        ]["id"]
        for i in range(3)
    ]
    for user in (w.member, third):
        (
            await user.client.execute(
                "mutation($t: ID!) { joinThread(input: {threadId: $t}) { thread { id } } }",
                {"t": threads[0]},
            )
        ).ok()
    for i in range(3):
        (await w.member.client.execute(SEND, {"c": threads[0], "t": f"in thread {i}"})).ok()
    # The search index follows the sends after commit: wait for all six guild messages (the
    # channel's and the thread's), or a page read later would see more than the whole list.
    deadline = time.monotonic() + 20
    search = "query($g: ID!) { searchMessages(input: {guildId: $g}) { edges { cursor } } }"
    while (
        len(
            (await w.owner.client.execute(search, {"g": w.guild_id})).ok()["searchMessages"][
                "edges"
            ]
        )
        < 6
    ):
        assert time.monotonic() < deadline, "the messages never became searchable"
        await asyncio.sleep(0.05)
    return w.owner, {
        "Query.searchMessages": w.guild_id,
        "TextChannel.messages": w.text_id,
        "ThreadChannel.messages": threads[0],
        "TextChannel.threads": w.text_id,
        "ThreadChannel.members": threads[0],
        "DirectMessageChannel.messages": dm,
        "Guild.members": w.guild_id,
        "Guild.auditLog": w.guild_id,
        "Message.reactors": messages[0],
        "CurrentUser.mentions": w.owner.id,
    }


def _page(result: Result, case: Case) -> Any:
    data = result.ok()
    for key in case.path:
        data = data[key]
    return data


async def test_the_cases_cover_every_connection_field(client: GraphQLClient) -> None:
    types = (await client.execute(CONNECTIONS)).ok()["__schema"]["types"]
    found = {
        f"{t['name']}.{f['name']}"
        for t in types
        if t["kind"] == "OBJECT" and not t["name"].startswith("__")
        for f in t["fields"] or []
        if (f["type"]["name"] or f["type"]["ofType"]["name"] or "").endswith("Connection")
    }
    assert found == {case.field for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.field)
async def test_connection_arguments_follow_relay(client: GraphQLClient, case: Case) -> None:
    viewer, parents = await _three_of_everything(client)
    document = _document(case)
    x = parents[case.field]

    async def run(**arguments: Any) -> Result:
        return await viewer.client.execute(document, {"x": x, **arguments})

    everything = [e["cursor"] for e in _page(await run(first=100), case)["edges"]]
    assert len(everything) >= 3

    first = _page(await run(first=2), case)
    assert [e["cursor"] for e in first["edges"]] == everything[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    rest = _page(await run(first=100, after=first["pageInfo"]["endCursor"]), case)
    assert [e["cursor"] for e in rest["edges"]] == everything[2:]
    assert rest["pageInfo"]["hasNextPage"] is False

    for arguments, field in (
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"after": "not-a-cursor"}, "after"),
    ):
        refused = (await run(**arguments)).error("BAD_USER_INPUT")
        assert refused["extensions"]["field"] == field, arguments

    if not case.backward:
        return
    last = _page(await run(last=2), case)
    assert [e["cursor"] for e in last["edges"]] == everything[-2:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert last["pageInfo"]["hasNextPage"] is False
    before = _page(await run(last=100, before=last["pageInfo"]["startCursor"]), case)
    assert [e["cursor"] for e in before["edges"]] == everything[:-2]
    for arguments, field in (
        ({"last": 500}, "last"),
        ({"last": 0}, "last"),
        ({"first": 2, "last": 2}, "last"),
        ({"before": "not-a-cursor"}, "before"),
    ):
        refused = (await run(**arguments)).error("BAD_USER_INPUT")
        assert refused["extensions"]["field"] == field, arguments
