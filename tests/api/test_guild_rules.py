"""Guild rules beyond authorization: hierarchy, ordering, categories and private channels,
members, and the events each change publishes."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy import event

from gochat.bus import subjects
from gochat.bus.codec import decode
from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import (
    ASSIGN,
    CREATE_ROLE,
    grant,
    guild_state,
    invite_and_join,
    make_world,
)
from tests.support.server import RunningServer

UPDATE_ROLE = """mutation($g: ID!, $r: ID!, $p: [Permission!], $n: String) {
  updateRole(input: {guildId: $g, roleId: $r, permissions: $p, name: $n}) { role { id permissions { names } } } }"""
REORDER_ROLES = """mutation($g: ID!, $r: ID!, $p: Int!) { reorderRoles(input: {guildId: $g, roles: [{roleId: $r, position: $p}]}) { roles { id position } } }"""
REMOVE = """mutation($g: ID!, $u: ID!, $r: ID!) { removeRole(input: {guildId: $g, userId: $u, roleId: $r}) { member { userId } } }"""
DELETE_ROLE = (
    """mutation($g: ID!, $r: ID!) { deleteRole(input: {guildId: $g, roleId: $r}) { roleId } }"""
)


async def test_nobody_manages_a_role_at_or_above_their_own(client: GraphQLClient) -> None:
    w = await make_world(client)
    manager_role = await grant(w, w.member, ["MANAGE_ROLES", "KICK_MEMBERS"], "manager")
    # A new role starts at the bottom, below the manager's: the manager may handle it.
    low = (await w.member.client.execute(CREATE_ROLE, {"g": w.guild_id, "n": "low", "p": []})).ok()[
        "createRole"
    ]["role"]["id"]
    (await w.member.client.execute(UPDATE_ROLE, {"g": w.guild_id, "r": low, "n": "lower"})).ok()
    # Their own role and anything above it are out of reach.
    before = await guild_state(w.owner.client, w.guild_id)
    (
        await w.member.client.execute(
            UPDATE_ROLE, {"g": w.guild_id, "r": manager_role, "n": "mine"}
        )
    ).error("FORBIDDEN")
    (await w.member.client.execute(DELETE_ROLE, {"g": w.guild_id, "r": manager_role})).error(
        "FORBIDDEN"
    )
    (
        await w.member.client.execute(
            ASSIGN, {"g": w.guild_id, "u": w.member.id, "r": manager_role}
        )
    ).error("FORBIDDEN")
    (
        await w.member.client.execute(
            REMOVE, {"g": w.guild_id, "u": w.member.id, "r": manager_role}
        )
    ).error("FORBIDDEN")
    (await w.member.client.execute(REORDER_ROLES, {"g": w.guild_id, "r": low, "p": 5})).error(
        "FORBIDDEN"
    )
    assert await guild_state(w.owner.client, w.guild_id) == before


async def test_nobody_grants_a_permission_they_lack(client: GraphQLClient) -> None:
    w = await make_world(client)
    await grant(w, w.member, ["MANAGE_ROLES"])
    (
        await w.member.client.execute(
            CREATE_ROLE, {"g": w.guild_id, "n": "admin", "p": ["ADMINISTRATOR"]}
        )
    ).error("FORBIDDEN")
    (
        await w.member.client.execute(
            CREATE_ROLE, {"g": w.guild_id, "n": "ok", "p": ["MANAGE_ROLES", "SEND_MESSAGES"]}
        )
    ).ok()
    (
        await w.member.client.execute(
            UPDATE_ROLE, {"g": w.guild_id, "r": w.everyone_id, "p": ["BAN_MEMBERS"]}
        )
    ).error("FORBIDDEN")
    # The owner and ADMINISTRATOR may grant anything.
    (
        await w.owner.client.execute(
            CREATE_ROLE, {"g": w.guild_id, "n": "admin", "p": ["ADMINISTRATOR"]}
        )
    ).ok()


async def test_everyone_cannot_be_renamed_deleted_or_assigned(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await w.owner.client.execute(UPDATE_ROLE, {"g": w.guild_id, "r": w.everyone_id, "n": "all"})
    ).error("BAD_USER_INPUT")
    (await w.owner.client.execute(DELETE_ROLE, {"g": w.guild_id, "r": w.everyone_id})).error(
        "BAD_USER_INPUT"
    )
    (
        await w.owner.client.execute(
            ASSIGN, {"g": w.guild_id, "u": w.member.id, "r": w.everyone_id}
        )
    ).error("BAD_USER_INPUT")


async def test_members_cannot_moderate_someone_ranked_at_or_above_them(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    await grant(w, w.member, ["KICK_MEMBERS"], "mods")
    peer = await signed_up(client)
    await invite_and_join(w.owner, peer, w.text_id)
    roles = (
        await w.owner.client.execute(
            "query($g: ID!) { guild(id: $g) { roles { id name } } }", {"g": w.guild_id}
        )
    ).ok()
    mods = next(r["id"] for r in roles["guild"]["roles"] if r["name"] == "mods")
    (await w.owner.client.execute(ASSIGN, {"g": w.guild_id, "u": peer.id, "r": mods})).ok()
    kick = "mutation($g: ID!, $u: ID!) { kickMember(input: {guildId: $g, userId: $u}) { userId } }"
    (await w.member.client.execute(kick, {"g": w.guild_id, "u": peer.id})).error("FORBIDDEN")
    (await w.member.client.execute(kick, {"g": w.guild_id, "u": w.owner.id})).error("FORBIDDEN")


CHANNELS = "query($g: ID!) { guild(id: $g) { channels { id name parentId position } } }"


async def test_reorder_is_all_or_nothing(client: GraphQLClient) -> None:
    w = await make_world(client)
    before = (await w.owner.client.execute(CHANNELS, {"g": w.guild_id})).ok()
    bad = """mutation($g: ID!, $a: ID!) { reorderChannels(input: {guildId: $g, channels: [
      {channelId: $a, position: 5}, {channelId: "999999", position: 0}]}) { channels { id } } }"""
    (await w.owner.client.execute(bad, {"g": w.guild_id, "a": w.text_id})).error("NOT_FOUND")
    not_category = """mutation($g: ID!, $a: ID!, $b: ID!) { reorderChannels(input: {guildId: $g, channels: [
      {channelId: $a, position: 5}, {channelId: $b, position: 0, parentId: $a}]}) { channels { id } } }"""
    (
        await w.owner.client.execute(
            not_category, {"g": w.guild_id, "a": w.text_id, "b": w.voice_id}
        )
    ).error("BAD_USER_INPUT")
    assert (await w.owner.client.execute(CHANNELS, {"g": w.guild_id})).ok() == before
    good = """mutation($g: ID!, $a: ID!, $b: ID!) { reorderChannels(input: {guildId: $g, channels: [
      {channelId: $a, position: 1}, {channelId: $b, position: 0}]}) { channels { id position } } }"""
    after = (
        await w.owner.client.execute(good, {"g": w.guild_id, "a": w.text_id, "b": w.voice_id})
    ).ok()
    assert [c["id"] for c in after["reorderChannels"]["channels"]] == [w.voice_id, w.text_id]


CREATE_CHANNEL = """mutation($g: ID!, $t: ChannelType!, $n: String!, $p: ID, $private: Boolean) {
  createChannel(input: {guildId: $g, type: $t, name: $n, parentId: $p, private: $private}) { channel { id name parentId } } }"""
SET_OW = """mutation($c: ID!, $t: OverwriteTarget!, $id: ID!, $a: [Permission!], $d: [Permission!]) {
  setChannelPermissionOverwrite(input: {channelId: $c, targetType: $t, targetId: $id, allow: $a, deny: $d}) { overwrite { targetId } } }"""
MY_PERMS = "query($c: ID!) { channel(id: $c) { myPermissions { names } } }"


async def test_category_overwrites_reach_a_child_only_when_synced(client: GraphQLClient) -> None:
    w = await make_world(client)
    category = (
        await w.owner.client.execute(
            CREATE_CHANNEL, {"g": w.guild_id, "t": "CATEGORY", "n": "Rooms"}
        )
    ).ok()["createChannel"]["channel"]["id"]
    (
        await w.owner.client.execute(
            SET_OW, {"c": category, "t": "ROLE", "id": w.everyone_id, "d": ["ADD_REACTIONS"]}
        )
    ).ok()
    synced = (
        await w.owner.client.execute(
            CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "n": "Synced Room", "p": category}
        )
    ).ok()["createChannel"]["channel"]
    assert synced["name"] == "synced-room" and synced["parentId"] == category
    assert (
        "ADD_REACTIONS"
        not in (await w.member.client.execute(MY_PERMS, {"c": synced["id"]})).ok()["channel"][
            "myPermissions"
        ]["names"]
    )
    # A later change on the category does not flow down until the child syncs again.
    (
        await w.owner.client.execute(
            SET_OW, {"c": category, "t": "ROLE", "id": w.everyone_id, "d": ["SEND_MESSAGES"]}
        )
    ).ok()
    names = (await w.member.client.execute(MY_PERMS, {"c": synced["id"]})).ok()["channel"][
        "myPermissions"
    ]["names"]
    assert "SEND_MESSAGES" in names and "ADD_REACTIONS" not in names
    sync = "mutation($c: ID!) { updateChannel(input: {channelId: $c, syncWithParent: true}) { channel { id } } }"
    (await w.owner.client.execute(sync, {"c": synced["id"]})).ok()
    names = (await w.member.client.execute(MY_PERMS, {"c": synced["id"]})).ok()["channel"][
        "myPermissions"
    ]["names"]
    assert "SEND_MESSAGES" not in names and "ADD_REACTIONS" in names


async def test_private_channels_are_hidden_without_an_allow(client: GraphQLClient) -> None:
    w = await make_world(client)
    secret = (
        await w.owner.client.execute(
            CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "n": "secret", "private": True}
        )
    ).ok()["createChannel"]["channel"]["id"]
    visible = [
        c["id"]
        for c in (await w.member.client.execute(CHANNELS, {"g": w.guild_id})).ok()["guild"][
            "channels"
        ]
    ]
    assert secret not in visible
    (
        await w.member.client.execute("query($c: ID!) { channel(id: $c) { id } }", {"c": secret})
    ).error("NOT_FOUND")
    (
        await w.owner.client.execute(
            SET_OW, {"c": secret, "t": "MEMBER", "id": w.member.id, "a": ["VIEW_CHANNELS"]}
        )
    ).ok()
    assert (
        await w.member.client.execute("query($c: ID!) { channel(id: $c) { id } }", {"c": secret})
    ).ok()
    perms = """query($g: ID!, $u: ID!, $c: ID!) { guild(id: $g) { myPermissions { mask } member(userId: $u) { permissionsIn(channelId: $c) { names } } } }"""
    data = (
        await w.owner.client.execute(perms, {"g": w.guild_id, "u": w.member.id, "c": secret})
    ).ok()["guild"]
    assert data["myPermissions"]["mask"] == str((1 << 29) - 1)
    assert "VIEW_CHANNELS" in data["member"]["permissionsIn"]["names"]


async def test_channel_validation(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await w.owner.client.execute(
            CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "n": "bad!name"}
        )
    ).error("BAD_USER_INPUT")
    (await w.owner.client.execute(CREATE_CHANNEL, {"g": w.guild_id, "t": "DM", "n": "dm"})).error(
        "BAD_USER_INPUT"
    )
    topic = "mutation($c: ID!, $t: String!) { updateChannel(input: {channelId: $c, topic: $t}) { channel { id } } }"
    (await w.owner.client.execute(topic, {"c": w.text_id, "t": "x" * 1025})).error("BAD_USER_INPUT")
    region = 'mutation($c: ID!) { updateChannel(input: {channelId: $c, voiceRegion: "mars"}) { channel { id } } }'
    (await w.owner.client.execute(region, {"c": w.voice_id})).error("BAD_USER_INPUT")
    (await w.owner.client.execute(region, {"c": w.text_id})).error("BAD_USER_INPUT")
    color = 'mutation($g: ID!) { createRole(input: {guildId: $g, name: "c", color: 16777216}) { role { id } } }'
    (await w.owner.client.execute(color, {"g": w.guild_id})).error("BAD_USER_INPUT")
    name = 'mutation { createGuild(input: {name: "x"}) { guild { id } } }'
    (await w.owner.client.execute(name)).error("BAD_USER_INPUT")


async def test_members_page_and_search_by_prefix(client: GraphQLClient) -> None:
    w = await make_world(client)
    for handle in ("zed_one", "zed_two", "zoe"):
        user = await signed_up(client, handle=handle)
        await invite_and_join(w.owner, user, w.text_id)
    page = """query($g: ID!, $after: String, $s: String) { guild(id: $g) { members(first: 2, after: $after, search: $s) {
      edges { cursor node { user { handle } } } pageInfo { hasNextPage endCursor } } } }"""
    seen: list[str] = []
    after = None
    while True:
        data = (await w.owner.client.execute(page, {"g": w.guild_id, "after": after})).ok()[
            "guild"
        ]["members"]
        seen += [e["node"]["user"]["handle"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert len(seen) == 5 and len(set(seen)) == 5
    found = (await w.owner.client.execute(page, {"g": w.guild_id, "s": "ZED"})).ok()["guild"][
        "members"
    ]
    assert sorted(e["node"]["user"]["handle"] for e in found["edges"]) == ["zed_one", "zed_two"]
    literal = (await w.owner.client.execute(page, {"g": w.guild_id, "s": "zed%"})).ok()["guild"][
        "members"
    ]
    assert literal["edges"] == []


async def test_leaving_and_ownership(client: GraphQLClient) -> None:
    w = await make_world(client)
    leave = "mutation($g: ID!) { leaveGuild(input: {guildId: $g}) { guildId } }"
    (await w.owner.client.execute(leave, {"g": w.guild_id})).error("FORBIDDEN")
    transfer = "mutation($g: ID!, $u: ID!) { transferGuildOwnership(input: {guildId: $g, userId: $u}) { guild { ownerId } } }"
    (await w.owner.client.execute(transfer, {"g": w.guild_id, "u": w.outsider.id})).error(
        "NOT_FOUND"
    )
    assert (await w.owner.client.execute(transfer, {"g": w.guild_id, "u": w.member.id})).ok()[
        "transferGuildOwnership"
    ]["guild"]["ownerId"] == w.member.id
    (await w.owner.client.execute(leave, {"g": w.guild_id})).ok()
    (
        await w.owner.client.execute("query($g: ID!) { guild(id: $g) { id } }", {"g": w.guild_id})
    ).error("NOT_FOUND")


async def test_nicknames(client: GraphQLClient) -> None:
    w = await make_world(client)
    nick = "mutation($g: ID!, $u: ID!, $n: String) { setNickname(input: {guildId: $g, userId: $u, nickname: $n}) { member { nickname } } }"
    assert (
        await w.member.client.execute(nick, {"g": w.guild_id, "u": w.member.id, "n": "Me"})
    ).ok()["setNickname"]["member"]["nickname"] == "Me"
    (await w.member.client.execute(nick, {"g": w.guild_id, "u": w.member.id, "n": "x" * 33})).error(
        "BAD_USER_INPUT"
    )
    (
        await w.owner.client.execute(
            UPDATE_ROLE, {"g": w.guild_id, "r": w.everyone_id, "p": ["VIEW_CHANNELS"]}
        )
    ).ok()
    (await w.member.client.execute(nick, {"g": w.guild_id, "u": w.member.id, "n": "Again"})).error(
        "FORBIDDEN"
    )
    assert (
        await w.owner.client.execute(nick, {"g": w.guild_id, "u": w.member.id, "n": None})
    ).ok()["setNickname"]["member"]["nickname"] is None


async def test_deleted_guild_is_gone_for_members(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await w.owner.client.execute(
            "mutation($g: ID!) { deleteGuild(input: {guildId: $g}) { guildId } }", {"g": w.guild_id}
        )
    ).ok()
    (
        await w.member.client.execute("query($g: ID!) { guild(id: $g) { id } }", {"g": w.guild_id})
    ).error("NOT_FOUND")
    assert (await w.member.client.execute("{ me { guilds { id } } }")).ok()["me"]["guilds"] == []


async def test_changes_publish_typed_events_on_the_guild_subject(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    subscription = await server.services.bus.subscribe(subjects.guild(int(w.guild_id)))
    try:
        (
            await w.owner.client.execute(
                'mutation($g: ID!) { updateGuild(input: {guildId: $g, name: "New"}) { guild { id } } }',
                {"g": w.guild_id},
            )
        ).ok()
        (
            await w.owner.client.execute(
                CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "n": "fresh"}
            )
        ).ok()
        await grant(w, w.member, ["KICK_MEMBERS"])
        got: list[Any] = []
        async with asyncio.timeout(5):
            async for envelope in subscription:
                got.append(decode(envelope.payload))
                if len(got) == 4:
                    break
    finally:
        await subscription.close()
    assert [type(e).__name__ for e in got] == [
        "GuildUpdated",
        "ChannelCreated",
        "RoleCreated",
        "MemberUpdated",
    ]
    assert got[0].guild.name == "New"


async def test_channel_permissions_for_many_channels_cost_a_fixed_number_of_queries(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    query = "query($g: ID!) { guild(id: $g) { channels { id myPermissions { mask } } } }"

    async def count() -> int:
        statements = 0

        def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            # Only the request's reads count: background work (outbox confirmations, worker
            # queue polls, readiness probes) runs outside any request's context.
            nonlocal statements
            in_request = "request_id" in structlog.contextvars.get_contextvars()
            if in_request and statement.lstrip().upper().startswith("SELECT"):
                statements += 1

        engines = server.services.store.engines  # type: ignore[attr-defined]
        targets = {engines.read.sync_engine, engines.write.sync_engine}
        for target in targets:
            event.listen(target, "before_cursor_execute", on_execute)
        try:
            (await w.member.client.execute(query, {"g": w.guild_id})).ok()
        finally:
            for target in targets:
                event.remove(target, "before_cursor_execute", on_execute)
        return statements

    async def after_a_change(name: str) -> int:
        """One listing right after a change to the guild (its cached data dropped), the fewest
        statements of three: a session cached for seconds may also have expired meanwhile on
        a slow machine, which adds a read that is not the listing's."""
        runs = []
        for n in range(3):
            (
                await w.owner.client.execute(
                    CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "n": f"{name}-{n}"}
                )
            ).ok()
            runs.append(await count())
        return min(runs)

    (await w.member.client.execute(query, {"g": w.guild_id})).ok()  # caches the session
    few = await after_a_change("first")
    assert few > 0  # the request's own reads are seen
    for n in range(15):
        (
            await w.owner.client.execute(
                CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "n": f"room-{n}"}
            )
        ).ok()
    assert await after_a_change("last") == few
