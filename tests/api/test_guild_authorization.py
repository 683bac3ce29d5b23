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
from tests.support.guilds import World, grant, guild_state, make_world


@dataclass
class Case:
    name: str
    document: str
    variables: Callable[[World], dict[str, Any]]
    permission: str | None  # None: only the owner may


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
        "createEmoji",
        'mutation($g: ID!) { createEmoji(input: {guildId: $g, name: "blob"}) { emoji { id } } }',
        lambda w: {"g": w.guild_id},
        "CREATE_EXPRESSIONS",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_member_without_permission_is_forbidden_and_nothing_changes(
    client: GraphQLClient, case: Case
) -> None:
    world = await make_world(client)
    before = await guild_state(world.owner.client, world.guild_id)
    (await world.member.client.execute(case.document, case.variables(world))).error("FORBIDDEN")
    assert await guild_state(world.owner.client, world.guild_id) == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_outsider_gets_not_found_like_a_missing_guild(
    client: GraphQLClient, case: Case
) -> None:
    world = await make_world(client)
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
    world = await make_world(client)
    assert case.permission is not None
    await grant(world, world.member, [case.permission])
    (await world.member.client.execute(case.document, case.variables(world))).ok()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_owner_succeeds_where_allowed(client: GraphQLClient, case: Case) -> None:
    world = await make_world(client)
    variables = case.variables(world)
    if "u" in variables and variables["u"] == world.owner.id:
        variables["u"] = world.member.id  # the owner acts on the member instead of themselves
    (await world.owner.client.execute(case.document, variables)).ok()
