"""Kick, ban, unban and timeouts, and the audit log that records them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.support.client import GraphQLClient
from tests.support.guilds import grant, make_world

CREATE_INVITE = "mutation($c: ID!) { createInvite(input: {channelId: $c}) { invite { code } } }"
ACCEPT = "mutation($code: String!) { acceptInvite(input: {code: $code}) { member { userId } } }"
KICK = "mutation($g: ID!, $u: ID!, $r: String) { kickMember(input: {guildId: $g, userId: $u, reason: $r}) { userId } }"
BAN = "mutation($g: ID!, $u: ID!, $r: String) { banMember(input: {guildId: $g, userId: $u, reason: $r}) { ban { userId reason moderator { id } } } }"
UNBAN = "mutation($g: ID!, $u: ID!) { unbanMember(input: {guildId: $g, userId: $u}) { userId } }"
TIMEOUT = "mutation($g: ID!, $u: ID!, $t: DateTime) { timeoutMember(input: {guildId: $g, userId: $u, until: $t}) { member { timeoutUntil } } }"
GUILD = "query($g: ID!) { guild(id: $g) { id } }"


async def test_kicked_member_loses_access_and_may_rejoin(client: GraphQLClient) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(KICK, {"g": w.guild_id, "u": w.member.id, "r": "spam"})).ok()
    (await w.member.client.execute(GUILD, {"g": w.guild_id})).error("NOT_FOUND")
    code = (await w.owner.client.execute(CREATE_INVITE, {"c": w.text_id})).ok()["createInvite"][
        "invite"
    ]["code"]
    (await w.member.client.execute(ACCEPT, {"code": code})).ok()
    (await w.member.client.execute(GUILD, {"g": w.guild_id})).ok()


async def test_banned_user_cannot_rejoin_until_unbanned(client: GraphQLClient) -> None:
    w = await make_world(client)
    ban = (
        await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.member.id, "r": "rude"})
    ).ok()["banMember"]["ban"]
    assert ban == {"userId": w.member.id, "reason": "rude", "moderator": {"id": w.owner.id}}
    (await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.member.id})).error("CONFLICT")
    bans = (
        await w.owner.client.execute(
            "query($g: ID!) { guild(id: $g) { bans { userId reason } memberCount } }",
            {"g": w.guild_id},
        )
    ).ok()["guild"]
    assert bans == {"bans": [{"userId": w.member.id, "reason": "rude"}], "memberCount": 1}
    code = (await w.owner.client.execute(CREATE_INVITE, {"c": w.text_id})).ok()["createInvite"][
        "invite"
    ]["code"]
    (await w.member.client.execute(ACCEPT, {"code": code})).error("FORBIDDEN")
    assert (
        await w.owner.client.execute(
            "query($g: ID!) { guild(id: $g) { memberCount } }", {"g": w.guild_id}
        )
    ).ok()["guild"]["memberCount"] == 1
    (await w.owner.client.execute(UNBAN, {"g": w.guild_id, "u": w.member.id})).ok()
    (await w.member.client.execute(ACCEPT, {"code": code})).ok()


async def test_a_user_who_is_not_a_member_can_be_banned_in_advance(client: GraphQLClient) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(BAN, {"g": w.guild_id, "u": w.outsider.id})).ok()
    code = (await w.owner.client.execute(CREATE_INVITE, {"c": w.text_id})).ok()["createInvite"][
        "invite"
    ]["code"]
    (await w.outsider.client.execute(ACCEPT, {"code": code})).error("FORBIDDEN")
    (await w.owner.client.execute(BAN, {"g": w.guild_id, "u": "424242"})).error("NOT_FOUND")


async def test_timeout_takes_sending_and_reacting_away_until_it_ends(client: GraphQLClient) -> None:
    w = await make_world(client)
    await grant(w, w.member, ["TIMEOUT_MEMBERS"], "mods")
    perms = "query($c: ID!) { channel(id: $c) { myPermissions { names } } }"
    (
        await w.owner.client.execute(
            TIMEOUT,
            {
                "g": w.guild_id,
                "u": w.member.id,
                "t": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            },
        )
    ).error("BAD_USER_INPUT")
    (
        await w.owner.client.execute(
            TIMEOUT,
            {
                "g": w.guild_id,
                "u": w.member.id,
                "t": (datetime.now(UTC) + timedelta(days=29)).isoformat(),
            },
        )
    ).error("BAD_USER_INPUT")
    (
        await w.owner.client.execute(
            TIMEOUT, {"g": w.guild_id, "u": w.member.id, "t": "2030-01-01T00:00:00"}
        )
    ).error("BAD_USER_INPUT")
    until = datetime.now(UTC) + timedelta(seconds=2)
    (
        await w.owner.client.execute(
            TIMEOUT, {"g": w.guild_id, "u": w.member.id, "t": until.isoformat()}
        )
    ).ok()
    names = (await w.member.client.execute(perms, {"c": w.text_id})).ok()["channel"][
        "myPermissions"
    ]["names"]
    assert names == ["VIEW_CHANNELS", "READ_MESSAGE_HISTORY"]
    send = 'mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "hi"}) { message { id } } }'
    (await w.member.client.execute(send, {"c": w.text_id})).error("FORBIDDEN")
    await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.3)
    names = (await w.member.client.execute(perms, {"c": w.text_id})).ok()["channel"][
        "myPermissions"
    ]["names"]
    assert {"SEND_MESSAGES", "ADD_REACTIONS", "VOICE_CONNECT"} <= set(names)
    (await w.member.client.execute(send, {"c": w.text_id})).ok()


async def test_lifting_a_timeout(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await w.owner.client.execute(
            TIMEOUT,
            {
                "g": w.guild_id,
                "u": w.member.id,
                "t": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            },
        )
    ).ok()
    lifted = (
        await w.owner.client.execute(TIMEOUT, {"g": w.guild_id, "u": w.member.id, "t": None})
    ).ok()
    assert lifted["timeoutMember"]["member"]["timeoutUntil"] is None


AUDIT = """query($g: ID!, $first: Int, $after: String, $action: AuditAction, $actor: ID) { guild(id: $g) {
  auditLog(first: $first, after: $after, action: $action, actorId: $actor) {
    edges { cursor node { action actorId targetId reason changes } } pageInfo { hasNextPage endCursor } } } }"""


async def test_audit_log_records_who_did_what_newest_first(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await w.owner.client.execute(
            'mutation($g: ID!) { updateGuild(input: {guildId: $g, name: "Renamed"}) { guild { id } } }',
            {"g": w.guild_id},
        )
    ).ok()
    (await w.owner.client.execute(KICK, {"g": w.guild_id, "u": w.member.id, "r": "spam"})).ok()
    log = (await w.owner.client.execute(AUDIT, {"g": w.guild_id})).ok()["guild"]["auditLog"]
    actions = [e["node"]["action"] for e in log["edges"]]
    assert actions[:2] == ["MEMBER_KICK", "GUILD_UPDATE"]
    kick = log["edges"][0]["node"]
    assert (kick["actorId"], kick["targetId"], kick["reason"]) == (w.owner.id, w.member.id, "spam")
    assert log["edges"][1]["node"]["changes"] == {"name": ["World", "Renamed"]}
    only_kicks = (
        await w.owner.client.execute(AUDIT, {"g": w.guild_id, "action": "MEMBER_KICK"})
    ).ok()["guild"]["auditLog"]
    assert [e["node"]["action"] for e in only_kicks["edges"]] == ["MEMBER_KICK"]
    by_nobody = (
        await w.owner.client.execute(AUDIT, {"g": w.guild_id, "actor": w.outsider.id})
    ).ok()["guild"]["auditLog"]
    assert by_nobody["edges"] == []


async def test_audit_log_pages_and_needs_view_audit_log(client: GraphQLClient) -> None:
    w = await make_world(client)
    for n in range(3):
        (
            await w.owner.client.execute(
                "mutation($g: ID!, $n: String!) { updateGuild(input: {guildId: $g, name: $n}) { guild { id } } }",
                {"g": w.guild_id, "n": f"Name {n}"},
            )
        ).ok()
    first = (
        await w.owner.client.execute(AUDIT, {"g": w.guild_id, "first": 2, "action": "GUILD_UPDATE"})
    ).ok()["guild"]["auditLog"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    rest = (
        await w.owner.client.execute(
            AUDIT,
            {
                "g": w.guild_id,
                "first": 2,
                "after": first["pageInfo"]["endCursor"],
                "action": "GUILD_UPDATE",
            },
        )
    ).ok()["guild"]["auditLog"]
    assert len(rest["edges"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    assert rest["edges"][0]["node"]["changes"] == {"name": ["World", "Name 0"]}
    (await w.member.client.execute(AUDIT, {"g": w.guild_id})).error("FORBIDDEN")
    await grant(w, w.member, ["VIEW_AUDIT_LOG"])
    (await w.member.client.execute(AUDIT, {"g": w.guild_id})).ok()
