from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, invite_and_join, make_world


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


# One guild (pins of every channel of every guild would cost more than the query budget).
SIDEBAR = """query($g: ID!) { guild(id: $g) { id bans { userId } invites { code } channels {
  __typename id name type
  ... on TextChannel {
    unreadCount mentionCount lastMessageId pins { id } messages(last: 1) { edges { node { id } } }
  }
  ... on VoiceChannel { voiceRegion }
} } }"""


async def test_a_sidebar_query_over_every_channel_kind_keeps_its_data(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    set_overwrite = """mutation($c: ID!, $t: ID!) { setChannelPermissionOverwrite(input: {
      channelId: $c, targetType: ROLE, targetId: $t, deny: [READ_MESSAGE_HISTORY]}) {
      overwrite { channelId } } }"""
    (await w.owner.client.execute(set_overwrite, {"c": w.text_id, "t": w.everyone_id})).ok()
    create = """mutation($g: ID!) { createChannel(input: {guildId: $g, type: CATEGORY,
      name: "Rooms"}) { channel { __typename id type } } }"""
    category = (await w.owner.client.execute(create, {"g": w.guild_id})).ok()["createChannel"][
        "channel"
    ]
    assert category["__typename"] == "CategoryChannel" and category["type"] == "CATEGORY"

    result = await w.member.client.execute(SIDEBAR, {"g": w.guild_id})
    # What the member may not read is null with its own error; everything else is there.
    assert sorted(result.codes) == ["FORBIDDEN"] * 4
    assert sorted(tuple(e["path"][1:]) for e in result.errors) == [
        ("bans",),
        ("channels", 0, "messages"),
        ("channels", 0, "pins"),
        ("invites",),
    ]
    guild = result.data["guild"]
    assert guild["bans"] is None and guild["invites"] is None
    text, voice, rooms = guild["channels"]
    assert text == {
        "__typename": "TextChannel",
        "id": w.text_id,
        "name": "general",
        "type": "TEXT",
        "unreadCount": 0,
        "mentionCount": 0,
        "lastMessageId": text["lastMessageId"],
        "pins": None,
        "messages": None,
    }
    assert voice["__typename"] == "VoiceChannel" and voice["id"] == w.voice_id
    assert "voiceRegion" in voice
    assert rooms == {
        "__typename": "CategoryChannel",
        "id": category["id"],
        "name": "Rooms",
        "type": "CATEGORY",
    }
