"""Banning with history removal: `banMember(deleteMessageSeconds)` removes the banned user's
messages in that guild from the window before the ban, in the background, announced by
MessagesDeleted on `events`; older messages and other people's stay. On both message stores."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gochat.domain.moderation import BAN_PURGE
from gochat.ids import created_at
from gochat.storage.sql.tables import background_tasks
from tests.conftest import make_settings
from tests.support.client import GraphQLClient, ws_connect
from tests.support.guilds import make_world
from tests.support.server import run_server

BAN = """mutation($g: ID!, $u: ID!, $s: Int!) {
  banMember(input: {guildId: $g, userId: $u, deleteMessageSeconds: $s}) { ban { userId } } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
CREATE_CHANNEL = """mutation($g: ID!) { createChannel(input: {guildId: $g, name: "second",
  type: TEXT}) { channel { id } } }"""
HISTORY = """query($c: ID!) { channel(id: $c) { ... on TextBasedChannel {
  messages(last: 100) { edges { node { content } } } } } }"""
EVENTS = """subscription { events { __typename
  ... on MessagesDeleted { channelId guildId messageIds } } }"""


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


async def send(client: GraphQLClient, channel_id: str, text: str) -> str:
    message_id: str = (await client.execute(SEND, {"c": channel_id, "t": text})).ok()[
        "sendMessage"
    ]["message"]["id"]
    return message_id


async def contents(client: GraphQLClient, channel_id: str) -> list[str]:
    edges = (await client.execute(HISTORY, {"c": channel_id})).ok()["channel"]["messages"]["edges"]
    # Without the member-joined notices (no content).
    return [e["node"]["content"] for e in edges if e["node"]["content"]]


async def older_than(message_id: str, seconds: float) -> None:
    """Wait until the message was made at least `seconds` ago."""
    made = created_at(int(message_id)).timestamp()
    while time.time() - made < seconds:
        await asyncio.sleep(0.05)


async def test_a_ban_removes_the_recent_messages_of_the_banned_user_live(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    second = (await w.owner.client.execute(CREATE_CHANNEL, {"g": w.guild_id})).ok()[
        "createChannel"
    ]["channel"]["id"]
    thread = (
        await w.owner.client.execute(
            'mutation($c: ID!) { createThread(input: {channelId: $c, name: "t"}) { thread { id } } }',
            {"c": second},
        )
    ).ok()["createThread"]["thread"]["id"]
    old = await send(w.member.client, w.text_id, "old one")
    # Messages more than 3 s old stay with a 2 s window.
    await older_than(old, 3.0)
    recent = [
        await send(w.member.client, w.text_id, "recent one"),
        await send(w.member.client, w.text_id, "recent two"),
    ]
    elsewhere = await send(w.member.client, second, "recent elsewhere")
    in_thread = await send(w.member.client, thread, "recent in a thread")
    await send(w.owner.client, w.text_id, "the owner's")

    async with ws_connect(
        client.ws_url, payload={"authorization": f"Bearer {w.owner.token}"}
    ) as ws:
        watching = await ws.subscribe(EVENTS)
        await ws.barrier()
        banned = await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.member.id, "s": 2})
        assert banned.ok()["banMember"]["ban"]["userId"] == w.member.id
        deleted: dict[str, set[str]] = {}
        while sum(len(v) for v in deleted.values()) < 4:
            event = (await ws.receive(watching, timeout=30))["payload"]["data"]["events"]
            if event["__typename"] != "MessagesDeleted":
                continue
            assert event["guildId"] == w.guild_id
            deleted.setdefault(event["channelId"], set()).update(event["messageIds"])
    assert deleted == {w.text_id: set(recent), second: {elsewhere}, thread: {in_thread}}
    assert await contents(w.owner.client, w.text_id) == ["old one", "the owner's"]
    assert await contents(w.owner.client, second) == ["t"]  # the owner's thread notice
    assert await contents(w.owner.client, thread) == []


async def test_a_ban_without_deleteMessageSeconds_keeps_every_message(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    await send(w.member.client, w.text_id, "still here")
    (await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.member.id, "s": 0})).ok()
    assert await contents(w.owner.client, w.text_id) == ["still here"]


async def test_deleteMessageSeconds_out_of_range_or_without_permission_changes_nothing(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    await send(w.member.client, w.text_id, "kept")
    for bad in (-1, 604801):
        refused = await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.member.id, "s": bad})
        assert refused.error("BAD_USER_INPUT")["extensions"]["field"] == "deleteMessageSeconds"
    forbidden = await w.member.client.execute(BAN, {"g": w.guild_id, "u": w.owner.id, "s": 3600})
    assert forbidden.codes == ["FORBIDDEN"]
    outsider = await w.outsider.client.execute(BAN, {"g": w.guild_id, "u": w.member.id, "s": 3600})
    assert outsider.codes == ["NOT_FOUND"]
    assert await contents(w.owner.client, w.text_id) == ["kept"]


async def test_a_purge_left_unfinished_runs_when_the_server_starts_again(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data")
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server.url, http)
        w = await make_world(client)
        await send(w.member.client, w.text_id, "to remove")
        (await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.member.id, "s": 0})).ok()
        # What a crash right after the ban leaves: the task row, not yet run.
        engine = server.services.store.engines.write  # type: ignore[attr-defined]
        async with engine.begin() as conn:
            await conn.execute(
                background_tasks.insert().values(
                    id=1,
                    kind=BAN_PURGE,
                    user_id=int(w.member.id),
                    guild_id=int(w.guild_id),
                    params=json.dumps({"since": "2024-01-01T00:00:00+00:00"}),
                    created_at=datetime.now(UTC),
                )
            )
        assert await contents(w.owner.client, w.text_id) == ["to remove"]
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        owner = GraphQLClient(server.url, http).as_user(w.owner.token)
        async with asyncio.timeout(30):
            while await contents(owner, w.text_id):
                await asyncio.sleep(0.05)
