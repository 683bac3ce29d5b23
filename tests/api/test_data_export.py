"""Personal data export: `requestDataExport` builds a JSON archive in the background, stores it
in the blob store and mails a link valid for 7 days; one export per 24 hours. The archive holds
the profile, settings, memberships, friends and the user's own messages (both message stores)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.guilds import make_world
from tests.support.server import RunningServer

EXPORT = "mutation { requestDataExport { requestedAt } }"
SETTINGS = """mutation($d: JSON!) { replaceSettings(input: {data: $d}) { settings { version } } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"
FRIEND = "mutation($h: String!) { sendFriendRequest(input: {handle: $h}) { friends } }"
ACCEPT = "mutation($u: ID!) { acceptFriendRequest(input: {userId: $u}) { userId } }"
LINK = re.compile(r"(https?://\S+/files/exports/\S+)")


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


async def mailed_link(server: RunningServer, to: str) -> str:
    outbox = server.services.mail.outbox  # type: ignore[attr-defined]
    async with asyncio.timeout(60):
        while True:
            ready = [m.text for m in outbox if m.to == to and "data export" in m.subject]
            if ready:
                match = LINK.search(ready[0])
                assert match, ready[0]
                return match.group(1)
            await asyncio.sleep(0.05)


async def test_the_export_holds_the_users_data_and_only_their_messages(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    member, owner = w.member, w.owner
    (await member.client.execute(SETTINGS, {"d": {"theme": "dark", "n": 3}})).ok()
    sent = [
        (await member.client.execute(SEND, {"c": w.text_id, "t": f"mine {i}"})).ok()["sendMessage"][
            "message"
        ]["id"]
        for i in range(3)
    ]
    (await owner.client.execute(SEND, {"c": w.text_id, "t": "not mine"})).ok()
    thread = (
        await owner.client.execute(
            'mutation($c: ID!) { createThread(input: {channelId: $c, name: "t"}) { thread { id } } }',
            {"c": w.text_id},
        )
    ).ok()["createThread"]["thread"]["id"]
    (await member.client.execute(SEND, {"c": thread, "t": "mine in a thread"})).ok()
    dm = (await member.client.execute(OPEN_DM, {"u": owner.id})).ok()["openDirectMessage"]
    dm_id = dm["channel"]["id"]
    (await member.client.execute(SEND, {"c": dm_id, "t": "mine in a dm"})).ok()
    (await owner.client.execute(SEND, {"c": dm_id, "t": "owner in a dm"})).ok()
    (await member.client.execute(FRIEND, {"h": owner.handle})).ok()
    (await owner.client.execute(ACCEPT, {"u": member.id})).ok()

    asked = (await member.client.execute(EXPORT)).ok()["requestDataExport"]
    assert asked["requestedAt"]
    again = await member.client.execute(EXPORT)
    refused = again.error("RATE_LIMITED")
    assert 86000 <= refused["extensions"]["retryAfterSeconds"] <= 86400
    assert "next may be asked for at" in refused["message"]

    link = await mailed_link(server, member.email)
    expires = int(parse_qs(urlsplit(link).query)["expires"][0])
    assert abs(expires - (time.time() + 7 * 24 * 3600)) < 600
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(link)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert "attachment" in response.headers["content-disposition"]
        archive = response.json()
        tampered = await http.get(link.replace("signature=", "signature=0"))
        assert tampered.status_code == 403
        # Nobody else's link: another user's key with this signature is refused too.
        other = link.replace(f"/exports/{member.id}/", f"/exports/{owner.id}/")
        assert (await http.get(other)).status_code == 403

    assert archive["profile"]["id"] == member.id
    assert archive["profile"]["handle"] == member.handle
    assert archive["profile"]["email"] == member.email
    assert archive["settings"] == {"version": 1, "data": {"theme": "dark", "n": 3}}
    assert [m["guildId"] for m in archive["memberships"]] == [w.guild_id]
    assert [f["id"] for f in archive["friends"]] == [owner.id]
    assert [c["id"] for c in archive["directMessageChannels"]] == [dm_id]
    texts = {m["content"]: m for m in archive["messages"] if m["content"]}
    assert set(texts) == {"mine 0", "mine 1", "mine 2", "mine in a thread", "mine in a dm"}
    assert texts["mine in a thread"]["channelId"] == thread
    assert [texts[f"mine {i}"]["id"] for i in range(3)] == sent
    assert texts["mine 0"]["channelId"] == w.text_id
    assert texts["mine 0"]["guildId"] == w.guild_id
    assert texts["mine in a dm"] | {"id": None, "createdAt": None} == {
        "id": None,
        "createdAt": None,
        "channelId": dm_id,
        "guildId": None,
        "editedAt": None,
        "content": "mine in a dm",
        "replyToId": None,
        "pinned": False,
    }


async def test_signed_out_callers_cannot_export(client: GraphQLClient) -> None:
    assert (await client.execute(EXPORT)).codes == ["UNAUTHENTICATED"]
