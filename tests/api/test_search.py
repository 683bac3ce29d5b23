"""searchMessages through GraphQL: what is found, for whom, and how failures answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gochat.config import Settings
from tests.conftest import make_settings
from tests.support.client import GraphQLClient, Result
from tests.support.engines import free_port
from tests.support.guilds import World, make_world
from tests.support.server import run_server

SEARCH = """query($input: SearchMessagesInput!, $first: Int, $after: String) {
  searchMessages(input: $input, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { message { id content } snippet { text highlights { start length } } } }
  }
}"""
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
EDIT = """mutation($m: ID!, $t: String!) { editMessage(input: {messageId: $m, content: $t}) {
  message { id } } }"""
DELETE = "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }"
OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"
DENY_EVERYONE = """mutation($c: ID!, $r: ID!) { setChannelPermissionOverwrite(input: {channelId: $c,
  targetType: ROLE, targetId: $r, deny: [READ_MESSAGE_HISTORY]}) { overwrite { targetId } } }"""


@pytest.fixture(params=["database", "opensearch"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test on the relational database's own index and on OpenSearch."""
    if request.param == "database":
        return {}
    return {"search_url": f"{request.getfixturevalue('opensearch_url')}/t{uuid.uuid4().hex[:12]}"}


async def send(client: GraphQLClient, channel_id: str, text: str) -> str:
    result = (await client.execute(SEND, {"c": channel_id, "t": text})).ok()
    return str(result["sendMessage"]["message"]["id"])


async def search(client: GraphQLClient, **input: Any) -> Result:
    first = input.pop("first", None)
    after = input.pop("after", None)
    return await client.execute(SEARCH, {"input": input, "first": first, "after": after})


def ids_of(result: Result) -> list[str]:
    return [e["node"]["message"]["id"] for e in result.ok()["searchMessages"]["edges"]]


async def until(
    client: GraphQLClient,
    expected: Callable[[list[str]], bool],
    timeout: float = 20,
    *,
    total: int | None = None,
    **input: Any,
) -> Result:
    """Search again until the ids found satisfy `expected` (and the total is `total`, when
    given): the indexer runs after commit, and OpenSearch shows writes within a second."""
    deadline = time.monotonic() + timeout
    while True:
        result = await search(client, **input)
        counted = result.ok()["searchMessages"]["totalCount"]
        if expected(ids_of(result)) and total in (None, counted):
            return result
        assert time.monotonic() < deadline, f"search never settled: {result.body}"
        await asyncio.sleep(0.05)


async def test_a_sent_message_becomes_searchable_and_follows_edits_and_deletion(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    message_id = await send(w.member.client, w.text_id, "Meet at the Café Brûlée tonight")
    found = await until(
        w.owner.client, lambda ids: ids == [message_id], guildId=w.guild_id, query="cafe brulee"
    )
    page = found.ok()["searchMessages"]
    assert page["totalCount"] == 1
    snippet = page["edges"][0]["node"]["snippet"]
    assert snippet["text"] == "Meet at the Café Brûlée tonight"
    assert [
        snippet["text"][h["start"] : h["start"] + h["length"]] for h in snippet["highlights"]
    ] == ["Café", "Brûlée"]

    (await w.member.client.execute(EDIT, {"m": message_id, "t": "moved to the harbour"})).ok()
    await until(
        w.owner.client, lambda ids: ids == [message_id], guildId=w.guild_id, query="harbour"
    )
    assert ids_of(await search(w.owner.client, guildId=w.guild_id, query="brulee")) == []

    (await w.member.client.execute(DELETE, {"m": message_id})).ok()
    # Deleted at once for searches (hits are read again), and soon in the index too.
    assert ids_of(await search(w.owner.client, guildId=w.guild_id, query="harbour")) == []
    await until(w.owner.client, lambda ids: not ids, total=0, guildId=w.guild_id, query="harbour")


async def test_only_channels_the_viewer_reads_now_are_searched(client: GraphQLClient) -> None:
    w = await make_world(client)
    message_id = await send(w.owner.client, w.text_id, "quarterly numbers")
    await until(
        w.member.client, lambda ids: ids == [message_id], guildId=w.guild_id, query="quarterly"
    )
    (await w.owner.client.execute(DENY_EVERYONE, {"c": w.text_id, "r": w.everyone_id})).ok()
    # The permission change applies to the next search, without reindexing.
    assert ids_of(await search(w.member.client, guildId=w.guild_id, query="quarterly")) == []
    refused = await search(w.member.client, channelId=w.text_id, query="quarterly")
    assert refused.error("FORBIDDEN")
    assert ids_of(await search(w.owner.client, guildId=w.guild_id, query="quarterly")) == [
        message_id
    ]
    assert (await search(w.outsider.client, guildId=w.guild_id, query="x")).error("NOT_FOUND")


async def test_direct_messages_are_found_only_by_their_participants(client: GraphQLClient) -> None:
    w = await make_world(client)
    dm = (await w.owner.client.execute(OPEN_DM, {"u": w.member.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    message_id = await send(w.owner.client, dm, "just between us")
    await until(w.member.client, lambda ids: ids == [message_id], directOnly=True, query="between")
    assert ids_of(await search(w.owner.client, channelId=dm, query="between")) == [message_id]
    assert ids_of(await search(w.outsider.client, directOnly=True, query="between")) == []
    assert (await search(w.outsider.client, channelId=dm, query="between")).error("NOT_FOUND")
    assert ids_of(await search(w.owner.client, guildId=w.guild_id, query="between")) == []


async def test_query_syntax_filters_by_author_link_channel_and_script(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    by_owner = await send(w.owner.client, w.text_id, "release notes https://example.com/notes")
    by_member = await send(w.member.client, w.text_id, "release 東京タワー party")
    await until(
        w.member.client,
        lambda ids: set(ids) == {by_owner, by_member},
        guildId=w.guild_id,
        query="release",
    )

    async def found(query: str) -> list[str]:
        return ids_of(await search(w.member.client, guildId=w.guild_id, query=query))

    assert await found(f"from:{w.owner.handle} release") == [by_owner]
    assert await found(f"from:<@{w.member.id}>") == [by_member]
    assert await found("has:link") == [by_owner]
    assert await found("東京") == [by_member]
    assert await found("rel*") == [by_member, by_owner]
    assert await found('"notes https"') == [by_owner]
    assert await found("in:general release") in ([by_member, by_owner], [])
    assert await found("before:2020-01-01 release") == []
    assert await found("from:nobody-at-all") == []
    relevance = await search(w.member.client, guildId=w.guild_id, query="release", sort="RELEVANCE")
    assert set(ids_of(relevance)) == {by_owner, by_member}


async def test_bad_input_names_the_field(client: GraphQLClient) -> None:
    w = await make_world(client)
    two = await search(w.owner.client, guildId=w.guild_id, directOnly=True)
    assert two.error("BAD_USER_INPUT")["extensions"]["field"] == "guildId"
    none = await search(w.owner.client, query="x")
    assert none.error("BAD_USER_INPUT")["extensions"]["field"] == "guildId"
    syntax = await search(w.owner.client, guildId=w.guild_id, query="has:pdf")
    assert syntax.error("BAD_USER_INPUT")["extensions"]["field"] == "query"
    big = await search(w.owner.client, guildId=w.guild_id, first=101)
    assert big.error("BAD_USER_INPUT")["extensions"]["field"] == "first"
    cursor = await search(w.owner.client, guildId=w.guild_id, after="nope")
    assert cursor.error("BAD_USER_INPUT")["extensions"]["field"] == "after"


async def test_pages_follow_the_cursor(client: GraphQLClient) -> None:
    w = await make_world(client)
    sent = [await send(w.owner.client, w.text_id, f"paging word {n}") for n in range(5)]
    await until(
        w.owner.client, lambda ids: len(ids) == 5, guildId=w.guild_id, query="paging", first=50
    )
    for sort in ("NEWEST", "RELEVANCE"):
        first = (
            await search(w.owner.client, guildId=w.guild_id, query="paging", first=2, sort=sort)
        ).ok()
        page = first["searchMessages"]
        assert page["pageInfo"]["hasNextPage"] is True
        assert page["totalCount"] == 5
        rest = await search(
            w.owner.client,
            guildId=w.guild_id,
            query="paging",
            first=50,
            sort=sort,
            after=page["pageInfo"]["endCursor"],
        )
        seen = [e["node"]["message"]["id"] for e in page["edges"]] + ids_of(rest)
        assert sorted(seen) == sorted(sent)
        assert rest.ok()["searchMessages"]["pageInfo"]["hasNextPage"] is False
    newest = ids_of(await search(w.owner.client, guildId=w.guild_id, query="paging"))
    assert newest == list(reversed(sent))


async def test_an_unreachable_search_engine_answers_unavailable(
    tmp_path: Path, database_url: str
) -> None:
    settings: Settings = make_settings(
        database_url, tmp_path / "data", search_url=f"http://127.0.0.1:{free_port()}/gochat"
    )
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server.url, http)
        w: World = await make_world(client)
        # Sending does not depend on the search engine.
        await send(w.owner.client, w.text_id, "still sent")
        refused = await search(w.owner.client, guildId=w.guild_id, query="sent")
        assert refused.error("UNAVAILABLE")
