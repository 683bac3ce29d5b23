"""Custom emoji metadata: names, uniqueness, the per-guild cap, and who may change them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.guilds import grant, make_world

CREATE = "mutation($g: ID!, $n: String!) { createEmoji(input: {guildId: $g, name: $n}) { emoji { id name creator { id } } } }"
RENAME = "mutation($g: ID!, $e: ID!, $n: String!) { renameEmoji(input: {guildId: $g, emojiId: $e, name: $n}) { emoji { name } } }"
DELETE = "mutation($g: ID!, $e: ID!) { deleteEmoji(input: {guildId: $g, emojiId: $e}) { emojiId } }"
LIST = "query($g: ID!) { guild(id: $g) { emoji { name } } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"emoji_max_per_guild": 2}


async def test_emoji_names_are_checked_and_unique(client: GraphQLClient) -> None:
    w = await make_world(client)
    for bad in ("x", "has space", "y" * 33, "dash-no"):
        (await w.owner.client.execute(CREATE, {"g": w.guild_id, "n": bad})).error("BAD_USER_INPUT")
    made = (await w.owner.client.execute(CREATE, {"g": w.guild_id, "n": "party_parrot"})).ok()[
        "createEmoji"
    ]["emoji"]
    assert made["creator"] == {"id": w.owner.id}
    (await w.owner.client.execute(CREATE, {"g": w.guild_id, "n": "party_parrot"})).error("CONFLICT")
    assert (await w.member.client.execute(LIST, {"g": w.guild_id})).ok()["guild"]["emoji"] == [
        {"name": "party_parrot"}
    ]


async def test_a_guild_holds_at_most_the_configured_number(client: GraphQLClient) -> None:
    w = await make_world(client)
    for name in ("one", "two"):
        (await w.owner.client.execute(CREATE, {"g": w.guild_id, "n": name})).ok()
    (await w.owner.client.execute(CREATE, {"g": w.guild_id, "n": "three"})).error("CONFLICT")
    assert len((await w.owner.client.execute(LIST, {"g": w.guild_id})).ok()["guild"]["emoji"]) == 2


async def test_rename_and_delete_need_manage_expressions(client: GraphQLClient) -> None:
    w = await make_world(client)
    await grant(w, w.member, ["CREATE_EXPRESSIONS"])
    emoji_id = (await w.member.client.execute(CREATE, {"g": w.guild_id, "n": "mine"})).ok()[
        "createEmoji"
    ]["emoji"]["id"]
    (await w.member.client.execute(RENAME, {"g": w.guild_id, "e": emoji_id, "n": "ours"})).error(
        "FORBIDDEN"
    )
    (await w.member.client.execute(DELETE, {"g": w.guild_id, "e": emoji_id})).error("FORBIDDEN")
    assert (
        await w.owner.client.execute(RENAME, {"g": w.guild_id, "e": emoji_id, "n": "ours"})
    ).ok()["renameEmoji"]["emoji"]["name"] == "ours"
    (await w.owner.client.execute(RENAME, {"g": w.guild_id, "e": "12345", "n": "ghost"})).error(
        "NOT_FOUND"
    )
    (await w.owner.client.execute(DELETE, {"g": w.guild_id, "e": emoji_id})).ok()
    assert (await w.owner.client.execute(LIST, {"g": w.guild_id})).ok()["guild"]["emoji"] == []
