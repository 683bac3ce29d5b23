from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, invite_and_join


async def test_new_guild_has_defaults_and_joiner_gets_everyone_permissions(
    client: GraphQLClient,
) -> None:
    owner = await signed_up(client)
    guild = await create_guild(owner, "Cafe")
    assert [c["name"] for c in guild["channels"]] == ["general", "General"]
    everyone = guild["roles"][0]
    assert everyone["isEveryone"] and everyone["permissions"]["mask"] == "7927905"
    general = guild["channels"][0]["id"]
    assert guild["systemChannelId"] == general

    member = await signed_up(client)
    await invite_and_join(owner, member, general)
    data = (
        await member.client.execute(
            "query($g: ID!) { me { guilds { id } } guild(id: $g) { memberCount myPermissions { mask } } }",
            {"g": guild["id"]},
        )
    ).ok()
    assert data["me"]["guilds"] == [{"id": guild["id"]}]
    assert data["guild"] == {"memberCount": 2, "myPermissions": {"mask": "7927905"}}

    outsider = await signed_up(client)
    result = await outsider.client.execute(
        "query($g: ID!) { guild(id: $g) { id } }", {"g": guild["id"]}
    )
    result.error("NOT_FOUND")
