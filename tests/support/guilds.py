"""Guild helpers through the public API."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.factories import SignedUpUser

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
