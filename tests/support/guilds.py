"""Guild helpers through the public API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.factories import SignedUpUser, signed_up

CREATE_GUILD = """
mutation($name: String!) {
  createGuild(input: {name: $name}) {
    guild { id name ownerId systemChannelId channels { id name type position } roles { id name position isEveryone permissions { mask } } }
  }
}"""


async def create_guild(owner: SignedUpUser, name: str = "Test Guild") -> dict[str, Any]:
    guild: dict[str, Any] = (await owner.client.execute(CREATE_GUILD, {"name": name})).ok()[
        "createGuild"
    ]["guild"]
    return guild


async def invite_and_join(owner: SignedUpUser, joiner: SignedUpUser, channel_id: str) -> str:
    invite = (
        await owner.client.execute(
            "mutation($c: ID!) { createInvite(input: {channelId: $c}) { invite { code } } }",
            {"c": channel_id},
        )
    ).ok()["createInvite"]["invite"]["code"]
    (
        await joiner.client.execute(
            "mutation($code: String!) { acceptInvite(input: {code: $code}) { member { userId } } }",
            {"code": invite},
        )
    ).ok()
    return str(invite)


async def text_channel(client: GraphQLClient, guild_id: str) -> str:
    data = (
        await client.execute(
            "query($g: ID!) { guild(id: $g) { channels { id type } } }", {"g": guild_id}
        )
    ).ok()
    return next(c["id"] for c in data["guild"]["channels"] if c["type"] == "TEXT")


@dataclass
class World:
    """A guild with an owner, a plain member, and an outsider who is in no guild."""

    owner: SignedUpUser
    member: SignedUpUser
    outsider: SignedUpUser
    guild_id: str
    text_id: str
    voice_id: str
    everyone_id: str
    extra: dict[str, str] = field(default_factory=dict)


async def make_world(client: GraphQLClient) -> World:
    owner = await signed_up(client, handle=None)
    guild = await create_guild(owner, "World")
    text = next(c["id"] for c in guild["channels"] if c["type"] == "TEXT")
    voice = next(c["id"] for c in guild["channels"] if c["type"] == "VOICE")
    member = await signed_up(client)
    await invite_and_join(owner, member, text)
    outsider = await signed_up(client)
    return World(owner, member, outsider, guild["id"], text, voice, guild["id"])


CREATE_ROLE = """mutation($g: ID!, $n: String!, $p: [Permission!]!) {
  createRole(input: {guildId: $g, name: $n, permissions: $p}) { role { id position } } }"""
ASSIGN = """mutation($g: ID!, $u: ID!, $r: ID!) { assignRole(input: {guildId: $g, userId: $u, roleId: $r}) { member { userId } } }"""


async def grant(
    world: World, user: SignedUpUser, permissions: list[str], name: str = "granted"
) -> str:
    """Give `user` a new role holding `permissions` (created by the owner); the role id."""
    role = (
        await world.owner.client.execute(
            CREATE_ROLE, {"g": world.guild_id, "n": name, "p": permissions}
        )
    ).ok()
    role_id: str = role["createRole"]["role"]["id"]
    (
        await world.owner.client.execute(ASSIGN, {"g": world.guild_id, "u": user.id, "r": role_id})
    ).ok()
    return role_id


async def guild_state(client: GraphQLClient, guild_id: str) -> dict[str, Any]:
    """A snapshot of what guild mutations change, to compare before and after a refusal."""
    query = """query($g: ID!) { guild(id: $g) {
      name ownerId systemChannelId memberCount
      channels { id name topic parentId position private ... on VoiceChannel { voiceRegion } overwrites { targetId allow { mask } deny { mask } } }
      roles { id name color position permissions { mask } hoist mentionable }
      members(first: 100) { edges { node { userId nickname timeoutUntil roles { id } } } }
      emoji { id name }
    } }"""
    data: dict[str, Any] = (await client.execute(query, {"g": guild_id})).ok()["guild"]
    return data
