"""Every guild-area mutation: a member without the permission gets FORBIDDEN and nothing
changes; an outsider gets NOT_FOUND, exactly as for an id that does not exist; the holder of the
permission succeeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import World, grant, guild_state, make_world


@dataclass
class Case:
    name: str
    document: str
    variables: Callable[[World], dict[str, Any]]
    permission: str | None  # None: only the owner may (or no member below the owner)


async def enrich(world: World) -> None:
    """Things for the mutations to act on: a role, an overwrite, an emoji, a ban, an invite."""
    owner = world.owner.client
    role = (
        await owner.execute(
            'mutation($g: ID!) { createRole(input: {guildId: $g, name: "extra"}) { role { id } } }',
            {"g": world.guild_id},
        )
    ).ok()
    world.extra["role"] = role["createRole"]["role"]["id"]
    (
        await owner.execute(
            "mutation($c: ID!, $r: ID!) { setChannelPermissionOverwrite(input: {channelId: $c, targetType: ROLE, targetId: $r, deny: [ADD_REACTIONS]}) { overwrite { targetId } } }",
            {"c": world.text_id, "r": world.extra["role"]},
        )
    ).ok()
    emoji = (
        await owner.execute(
            'mutation($g: ID!) { createEmoji(input: {guildId: $g, name: "blob"}) { emoji { id } } }',
            {"g": world.guild_id},
        )
    ).ok()
    world.extra["emoji"] = emoji["createEmoji"]["emoji"]["id"]
    (
        await owner.execute(
            "mutation($g: ID!, $u: ID!) { banMember(input: {guildId: $g, userId: $u}) { ban { userId } } }",
            {"g": world.guild_id, "u": world.extra["banned"]},
        )
    ).ok()
    invite = (
        await owner.execute(
            "mutation($c: ID!) { createInvite(input: {channelId: $c}) { invite { code } } }",
            {"c": world.text_id},
        )
    ).ok()
    world.extra["invite"] = invite["createInvite"]["invite"]["code"]


CASES = [
    Case(
        "updateGuild",
        'mutation($g: ID!) { updateGuild(input: {guildId: $g, name: "Renamed"}) { guild { name } } }',
        lambda w: {"g": w.guild_id},
        "MANAGE_SERVER",
    ),
    Case(
        "setSystemChannel",
        "mutation($g: ID!) { setSystemChannel(input: {guildId: $g, channelId: null}) { guild { id } } }",
        lambda w: {"g": w.guild_id},
        "MANAGE_SERVER",
    ),
    Case(
        "deleteGuild",
        "mutation($g: ID!) { deleteGuild(input: {guildId: $g}) { guildId } }",
        lambda w: {"g": w.guild_id},
        None,
    ),
    Case(
        "transferGuildOwnership",
        "mutation($g: ID!, $u: ID!) { transferGuildOwnership(input: {guildId: $g, userId: $u}) { guild { ownerId } } }",
        lambda w: {"g": w.guild_id, "u": w.member.id},
        None,
    ),
    Case(
        "createChannel",
        'mutation($g: ID!) { createChannel(input: {guildId: $g, type: TEXT, name: "new"}) { channel { id } } }',
        lambda w: {"g": w.guild_id},
        "MANAGE_CHANNELS",
    ),
    Case(
        "updateChannel",
        'mutation($c: ID!) { updateChannel(input: {channelId: $c, topic: "hello"}) { channel { topic } } }',
        lambda w: {"c": w.text_id},
        "MANAGE_CHANNELS",
    ),
    Case(
        "deleteChannel",
        "mutation($c: ID!) { deleteChannel(input: {channelId: $c}) { channelId } }",
        lambda w: {"c": w.voice_id},
        "MANAGE_CHANNELS",
    ),
    Case(
        "reorderChannels",
        "mutation($g: ID!, $a: ID!, $b: ID!) { reorderChannels(input: {guildId: $g, channels: [{channelId: $a, position: 1}, {channelId: $b, position: 0}]}) { channels { id } } }",
        lambda w: {"g": w.guild_id, "a": w.text_id, "b": w.voice_id},
        "MANAGE_CHANNELS",
    ),
    Case(
        "createRole",
        'mutation($g: ID!) { createRole(input: {guildId: $g, name: "new"}) { role { id } } }',
        lambda w: {"g": w.guild_id},
        "MANAGE_ROLES",
    ),
    Case(
        "updateRole",
        "mutation($g: ID!, $r: ID!) { updateRole(input: {guildId: $g, roleId: $r, color: 255}) { role { color } } }",
        lambda w: {"g": w.guild_id, "r": w.everyone_id},
        "MANAGE_ROLES",
    ),
    Case(
        "setChannelPermissionOverwrite",
        "mutation($c: ID!, $r: ID!) { setChannelPermissionOverwrite(input: {channelId: $c, targetType: ROLE, targetId: $r, deny: [ADD_REACTIONS]}) { overwrite { targetId } } }",
        lambda w: {"c": w.text_id, "r": w.everyone_id},
        "MANAGE_ROLES",
    ),
    Case(
        "setNickname of another",
        'mutation($g: ID!, $u: ID!) { setNickname(input: {guildId: $g, userId: $u, nickname: "Boss"}) { member { nickname } } }',
        lambda w: {"g": w.guild_id, "u": w.owner.id},
        None,
    ),
    Case(
        "kickMember",
        "mutation($g: ID!, $u: ID!) { kickMember(input: {guildId: $g, userId: $u}) { userId } }",
        lambda w: {"g": w.guild_id, "u": w.owner.id},
        None,
    ),
    Case(
        "banMember",
        "mutation($g: ID!, $u: ID!) { banMember(input: {guildId: $g, userId: $u}) { ban { userId } } }",
        lambda w: {"g": w.guild_id, "u": w.owner.id},
        None,
    ),
    Case(
        "timeoutMember",
        "mutation($g: ID!, $u: ID!, $t: DateTime!) { timeoutMember(input: {guildId: $g, userId: $u, until: $t}) { member { userId } } }",
        lambda w: {
            "g": w.guild_id,
            "u": w.owner.id,
            "t": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        },
        None,
    ),
    Case(
        "deleteRole",
        "mutation($g: ID!, $r: ID!) { deleteRole(input: {guildId: $g, roleId: $r}) { roleId } }",
        lambda w: {"g": w.guild_id, "r": w.extra["role"]},
        "MANAGE_ROLES",
    ),
    Case(
        "reorderRoles",
        "mutation($g: ID!, $r: ID!) { reorderRoles(input: {guildId: $g, roles: [{roleId: $r, position: 1}]}) { roles { id } } }",
        lambda w: {"g": w.guild_id, "r": w.extra["role"]},
        "MANAGE_ROLES",
    ),
    Case(
        "assignRole",
        "mutation($g: ID!, $u: ID!, $r: ID!) { assignRole(input: {guildId: $g, userId: $u, roleId: $r}) { member { userId } } }",
        lambda w: {"g": w.guild_id, "u": w.owner.id, "r": w.extra["role"]},
        "MANAGE_ROLES",
    ),
    Case(
        "removeRole",
        "mutation($g: ID!, $u: ID!, $r: ID!) { removeRole(input: {guildId: $g, userId: $u, roleId: $r}) { member { userId } } }",
        lambda w: {"g": w.guild_id, "u": w.owner.id, "r": w.extra["role"]},
        "MANAGE_ROLES",
    ),
    Case(
        "deleteChannelPermissionOverwrite",
        "mutation($c: ID!, $r: ID!) { deleteChannelPermissionOverwrite(input: {channelId: $c, targetType: ROLE, targetId: $r}) { channelId } }",
        lambda w: {"c": w.text_id, "r": w.extra["role"]},
        "MANAGE_ROLES",
    ),
    Case(
        "unbanMember",
        "mutation($g: ID!, $u: ID!) { unbanMember(input: {guildId: $g, userId: $u}) { userId } }",
        lambda w: {"g": w.guild_id, "u": w.extra["banned"]},
        "BAN_MEMBERS",
    ),
    Case(
        "renameEmoji",
        'mutation($g: ID!, $e: ID!) { renameEmoji(input: {guildId: $g, emojiId: $e, name: "blobby"}) { emoji { id } } }',
        lambda w: {"g": w.guild_id, "e": w.extra["emoji"]},
        "MANAGE_EXPRESSIONS",
    ),
    Case(
        "deleteEmoji",
        "mutation($g: ID!, $e: ID!) { deleteEmoji(input: {guildId: $g, emojiId: $e}) { emojiId } }",
        lambda w: {"g": w.guild_id, "e": w.extra["emoji"]},
        "MANAGE_EXPRESSIONS",
    ),
    Case(
        "revokeInvite of the owner's",
        "mutation($code: String!) { revokeInvite(input: {code: $code}) { invite { code } } }",
        lambda w: {"code": w.extra["invite"]},
        "MANAGE_SERVER",
    ),
    Case(
        "createEmoji",
        'mutation($g: ID!) { createEmoji(input: {guildId: $g, name: "wave"}) { emoji { id } } }',
        lambda w: {"g": w.guild_id},
        "CREATE_EXPRESSIONS",
    ),
]


async def add_low_role(world: World) -> None:
    owner = world.owner.client
    role = (
        await owner.execute(
            'mutation($g: ID!) { createRole(input: {guildId: $g, name: "low"}) { role { id } } }',
            {"g": world.guild_id},
        )
    ).ok()
    world.extra["role"] = role["createRole"]["role"]["id"]
    (
        await owner.execute(
            "mutation($c: ID!, $r: ID!) { setChannelPermissionOverwrite(input: {channelId: $c, targetType: ROLE, targetId: $r, deny: [ADD_REACTIONS]}) { overwrite { targetId } } }",
            {"c": world.text_id, "r": world.extra["role"]},
        )
    ).ok()


async def rich_world(client: GraphQLClient) -> World:
    world = await make_world(client)
    world.extra["banned"] = (await signed_up(client)).id
    await enrich(world)
    return world


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_member_without_permission_is_forbidden_and_nothing_changes(
    client: GraphQLClient, case: Case
) -> None:
    world = await rich_world(client)
    before = await guild_state(world.owner.client, world.guild_id)
    (await world.member.client.execute(case.document, case.variables(world))).error("FORBIDDEN")
    assert await guild_state(world.owner.client, world.guild_id) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_outsider_gets_not_found_like_a_missing_guild(
    client: GraphQLClient, case: Case
) -> None:
    world = await rich_world(client)
    before = await guild_state(world.owner.client, world.guild_id)
    real = await world.outsider.client.execute(case.document, case.variables(world))
    real.error("NOT_FOUND")
    missing = {
        k: ("12345" if v in (world.guild_id, world.text_id, world.voice_id) else v)
        for k, v in case.variables(world).items()
    }
    fake = await world.outsider.client.execute(case.document, missing)
    assert fake.error("NOT_FOUND")["message"] == real.errors[0]["message"]
    assert await guild_state(world.owner.client, world.guild_id) == before


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.permission], ids=[c.name for c in CASES if c.permission]
)
async def test_member_with_the_permission_succeeds(client: GraphQLClient, case: Case) -> None:
    world = await rich_world(client)
    assert case.permission is not None
    await grant(world, world.member, [case.permission])
    # The granted role went in at the bottom, above the prepared one; give the cases a role
    # below the member's again, as the hierarchy requires.
    await add_low_role(world)
    (await world.member.client.execute(case.document, case.variables(world))).ok()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_owner_succeeds_where_allowed(client: GraphQLClient, case: Case) -> None:
    world = await rich_world(client)
    variables = case.variables(world)
    if "u" in variables and variables["u"] == world.owner.id:
        variables["u"] = world.member.id  # the owner acts on the member instead of themselves
    (await world.owner.client.execute(case.document, variables)).ok()
