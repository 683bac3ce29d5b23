"""Invites: creation limits, listing, revocation, public preview, and joining races."""

from __future__ import annotations

import asyncio

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import grant, make_world

CREATE = """mutation($c: ID!, $age: Int, $uses: Int!) { createInvite(input: {channelId: $c, maxAgeSeconds: $age, maxUses: $uses}) {
  invite { code maxUses uses expiresAt revoked } } }"""
ACCEPT = "mutation($code: String!) { acceptInvite(input: {code: $code}) { guild { id } member { userId } } }"
PREVIEW = "query($code: String!) { invite(code: $code) { code guildName memberCount inviter { handle } expiresAt } }"
REVOKE = "mutation($code: String!) { revokeInvite(input: {code: $code}) { invite { revoked } } }"
COUNT = "query($g: ID!) { guild(id: $g) { memberCount } }"


async def test_invite_limits_are_validated(client: GraphQLClient) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(CREATE, {"c": w.text_id, "age": -1, "uses": 0})).error(
        "BAD_USER_INPUT"
    )
    (await w.owner.client.execute(CREATE, {"c": w.text_id, "age": 31 * 86400, "uses": 0})).error(
        "BAD_USER_INPUT"
    )
    (await w.owner.client.execute(CREATE, {"c": w.text_id, "age": 0, "uses": 1001})).error(
        "BAD_USER_INPUT"
    )
    forever = (await w.owner.client.execute(CREATE, {"c": w.text_id, "age": 0, "uses": 0})).ok()[
        "createInvite"
    ]["invite"]
    assert forever["expiresAt"] is None and forever["maxUses"] == 0


async def test_preview_works_signed_out_and_shows_the_guild(client: GraphQLClient) -> None:
    w = await make_world(client)
    code = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 5})).ok()["createInvite"][
        "invite"
    ]["code"]
    preview = (await client.execute(PREVIEW, {"code": code})).ok()["invite"]
    assert preview["guildName"] == "World" and preview["memberCount"] == 2
    assert preview["inviter"]["handle"] == w.owner.handle
    (await client.execute(PREVIEW, {"code": "nope"})).error("NOT_FOUND")


async def test_unusable_invites_say_why_and_change_nothing(client: GraphQLClient) -> None:
    w = await make_world(client)
    joiner = await signed_up(client)
    used = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 1})).ok()["createInvite"][
        "invite"
    ]["code"]
    (await w.outsider.client.execute(ACCEPT, {"code": used})).ok()
    revoked = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 0})).ok()[
        "createInvite"
    ]["invite"]["code"]
    (await w.owner.client.execute(REVOKE, {"code": revoked})).ok()
    expiring = (await w.owner.client.execute(CREATE, {"c": w.text_id, "age": 1, "uses": 0})).ok()[
        "createInvite"
    ]["invite"]["code"]
    await asyncio.sleep(1.2)
    before = (await w.owner.client.execute(COUNT, {"g": w.guild_id})).ok()
    messages = {
        code: (await joiner.client.execute(ACCEPT, {"code": code})).error("NOT_FOUND")["message"]
        for code in (used, revoked, expiring, "unknown")
    }
    assert "maximum uses" in messages[used]
    assert "revoked" in messages[revoked]
    assert "expired" in messages[expiring]
    assert messages["unknown"] == "unknown invite"
    assert (await w.owner.client.execute(COUNT, {"g": w.guild_id})).ok() == before


async def test_exactly_one_of_two_racing_users_gets_the_last_use(client: GraphQLClient) -> None:
    w = await make_world(client)
    code = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 1})).ok()["createInvite"][
        "invite"
    ]["code"]
    racers = [await signed_up(client) for _ in range(2)]
    results = await asyncio.gather(*(r.client.execute(ACCEPT, {"code": code}) for r in racers))
    assert sorted("joined" if not r.errors else r.codes[0] for r in results) == [
        "NOT_FOUND",
        "joined",
    ]
    listed = (
        await w.owner.client.execute(
            "query($g: ID!) { guild(id: $g) { memberCount invites { code } } }", {"g": w.guild_id}
        )
    ).ok()
    assert listed["guild"]["memberCount"] == 3
    assert code not in [i["code"] for i in listed["guild"]["invites"]]  # used up: no longer listed


async def test_five_users_racing_for_two_uses(client: GraphQLClient) -> None:
    w = await make_world(client)
    code = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 2})).ok()["createInvite"][
        "invite"
    ]["code"]
    racers = [await signed_up(client) for _ in range(5)]
    results = await asyncio.gather(*(r.client.execute(ACCEPT, {"code": code}) for r in racers))
    assert sum(not r.errors for r in results) == 2
    assert (await w.owner.client.execute(COUNT, {"g": w.guild_id})).ok()["guild"][
        "memberCount"
    ] == 4


async def test_accepting_again_keeps_the_membership_and_the_use(client: GraphQLClient) -> None:
    w = await make_world(client)
    code = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 5})).ok()["createInvite"][
        "invite"
    ]["code"]
    (await w.member.client.execute(ACCEPT, {"code": code})).ok()
    uses = (
        await w.owner.client.execute(
            "query($g: ID!) { guild(id: $g) { invites { code uses } } }", {"g": w.guild_id}
        )
    ).ok()
    assert {i["code"]: i["uses"] for i in uses["guild"]["invites"]}[code] == 0


async def test_listing_and_revoking_need_the_right_permission(client: GraphQLClient) -> None:
    w = await make_world(client)
    mine = (await w.member.client.execute(CREATE, {"c": w.text_id, "uses": 0})).ok()[
        "createInvite"
    ]["invite"]["code"]
    owners = (await w.owner.client.execute(CREATE, {"c": w.text_id, "uses": 0})).ok()[
        "createInvite"
    ]["invite"]["code"]
    (
        await w.member.client.execute(
            "query($g: ID!) { guild(id: $g) { invites { code } } }", {"g": w.guild_id}
        )
    ).error("FORBIDDEN")
    (
        await w.member.client.execute(
            "query($c: ID!) { channel(id: $c) { invites { code } } }", {"c": w.text_id}
        )
    ).error("FORBIDDEN")
    (await w.member.client.execute(REVOKE, {"code": owners})).error("FORBIDDEN")
    (await w.member.client.execute(REVOKE, {"code": mine})).ok()
    await grant(w, w.member, ["MANAGE_SERVER", "MANAGE_CHANNELS"])
    (await w.member.client.execute(REVOKE, {"code": owners})).ok()
    listed = (
        await w.member.client.execute(
            "query($c: ID!) { channel(id: $c) { invites { code } } }", {"c": w.text_id}
        )
    ).ok()
    assert {mine, owners}.isdisjoint(i["code"] for i in listed["channel"]["invites"])
    (await w.outsider.client.execute(REVOKE, {"code": mine})).error("NOT_FOUND")


async def test_creating_an_invite_needs_create_invite_in_the_channel(client: GraphQLClient) -> None:
    w = await make_world(client)
    deny = """mutation($c: ID!, $r: ID!) { setChannelPermissionOverwrite(input: {channelId: $c, targetType: ROLE, targetId: $r, deny: [CREATE_INVITE]}) { overwrite { targetId } } }"""
    (await w.owner.client.execute(deny, {"c": w.text_id, "r": w.everyone_id})).ok()
    (await w.member.client.execute(CREATE, {"c": w.text_id, "uses": 0})).error("FORBIDDEN")
