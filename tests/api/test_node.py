"""Global object identification: every object with an id comes back through `node` and `nodes`
with the visibility of the field that first returned it, and `__typename` + `id` name one
object, so normalized client caches (Relay, Apollo) can key on them."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient
from tests.support.guilds import World, create_guild, grant, invite_and_join, make_world

MISSING = "123456789012345678"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def _objects(w: World) -> dict[str, str]:
    """One object of every Node type in the world, by expected __typename; all made by the
    owner, who may see each of them."""
    owner = w.owner.client
    role_id = await grant(w, w.member, ["SEND_MESSAGES"], name="helpers")
    category = (
        await owner.execute(
            """mutation($g: ID!) { createChannel(input: {guildId: $g, type: CATEGORY,
              name: "Area"}) { channel { id } } }""",
            {"g": w.guild_id},
        )
    ).ok()["createChannel"]["channel"]["id"]
    message = (
        await owner.execute(
            """mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "hi"}) {
              message { id } } }""",
            {"c": w.text_id},
        )
    ).ok()["sendMessage"]["message"]["id"]
    dm = (
        await owner.execute(
            "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }",
            {"u": w.member.id},
        )
    ).ok()["openDirectMessage"]["channel"]["id"]
    invite = (
        await owner.execute(
            "mutation($c: ID!) { createInvite(input: {channelId: $c}) { invite { id code } } }",
            {"c": w.text_id},
        )
    ).ok()["createInvite"]["invite"]
    assert invite["id"] == invite["code"]
    emoji = (
        await owner.execute(
            """mutation($g: ID!) { createEmoji(input: {guildId: $g, name: "wave"}) {
              emoji { id } } }""",
            {"g": w.guild_id},
        )
    ).ok()["createEmoji"]["emoji"]["id"]
    member = (
        await owner.execute(
            "query($g: ID!, $u: ID!) { guild(id: $g) { member(userId: $u) { id guildId } } }",
            {"g": w.guild_id, "u": w.member.id},
        )
    ).ok()["guild"]["member"]
    assert member["guildId"] == w.guild_id
    return {
        "Guild": w.guild_id,
        "TextChannel": w.text_id,
        "VoiceChannel": w.voice_id,
        "CategoryChannel": category,
        "DirectMessageChannel": dm,
        "Role": role_id,
        "Member": member["id"],
        "Message": message,
        "Invite": invite["id"],
        "Emoji": emoji,
        "User": w.member.id,
    }


def _errors(body: dict[str, Any]) -> list[tuple[list[Any], str, str]]:
    return sorted(
        (e["path"], e["extensions"]["code"], e["message"]) for e in body.get("errors") or []
    )


async def test_every_kind_comes_back_by_its_id_through_node_and_nodes(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    objects = await _objects(w)
    for typename, object_id in objects.items():
        found = (await w.owner.client.execute(NODE, {"id": object_id})).ok()["node"]
        assert found == {"__typename": typename, "id": object_id}
    listed = (await w.owner.client.execute(NODES, {"ids": list(objects.values())})).ok()
    assert listed["nodes"] == [{"__typename": t, "id": i} for t, i in objects.items()]


async def test_what_the_viewer_may_not_see_looks_exactly_like_what_does_not_exist(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    objects = await _objects(w)
    del objects["User"]  # any signed-in user may see any user
    hidden_ids = list(objects.values())
    missing_ids = [
        f"{MISSING}:{MISSING}" if t == "Member" else "nosuchcode" if t == "Invite" else MISSING
        for t in objects
    ]
    hidden = await w.outsider.client.execute(NODES, {"ids": hidden_ids})
    missing = await w.outsider.client.execute(NODES, {"ids": missing_ids})
    assert hidden.data == missing.data == {"nodes": [None] * len(objects)}
    assert _errors(hidden.body) == _errors(missing.body)
    assert _errors(hidden.body) == [
        (["nodes", i], "NOT_FOUND", e) for i, (_, _, e) in enumerate(_errors(missing.body))
    ]
    for object_id, missing_id in zip(hidden_ids, missing_ids, strict=True):
        one_hidden = await w.outsider.client.execute(NODE, {"id": object_id})
        one_missing = await w.outsider.client.execute(NODE, {"id": missing_id})
        assert one_hidden.body == one_missing.body
        assert one_hidden.error("NOT_FOUND")["path"] == ["node"]
    # A member without MANAGE_SERVER or MANAGE_CHANNELS does not see another's invite either,
    # though the guild, its channels, roles and members are theirs to see.
    member_view = await w.member.client.execute(NODES, {"ids": [objects["Invite"], w.guild_id]})
    assert member_view.data == {"nodes": [None, {"__typename": "Guild", "id": w.guild_id}]}
    assert member_view.error("NOT_FOUND")["path"] == ["nodes", 0]


async def test_the_everyone_role_shares_its_guild_id_and_node_returns_the_guild(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    roles = (
        await w.member.client.execute(
            "query($g: ID!) { guild(id: $g) { roles { __typename id isEveryone } } }",
            {"g": w.guild_id},
        )
    ).ok()["guild"]["roles"]
    everyone = next(r for r in roles if r["isEveryone"])
    assert everyone == {"__typename": "Role", "id": w.guild_id, "isEveryone": True}
    found = (await w.member.client.execute(NODE, {"id": w.everyone_id})).ok()["node"]
    assert found == {"__typename": "Guild", "id": w.guild_id}


async def test_ids_that_are_no_ids_at_all_are_bad_input(client: GraphQLClient) -> None:
    w = await make_world(client)
    one = await w.member.client.execute(NODE, {"id": "not an id!"})
    assert one.error("BAD_USER_INPUT")["path"] == ["node"]
    none = await w.member.client.execute(NODES, {"ids": []})
    assert none.error("BAD_USER_INPUT")["path"] == ["nodes"]
    many = await w.member.client.execute(NODES, {"ids": [MISSING] * 101})
    assert many.error("BAD_USER_INPUT")["path"] == ["nodes"]


SIDEBAR = """{ me { id
  guilds { __typename id name
    roles { __typename id name position }
    channels { __typename id name position }
    me { __typename id nickname user { __typename id handle } }
    members(first: 20) { edges { node { __typename id guildId userId nickname
      user { __typename id handle } } } } }
  directMessageChannels { __typename id recipients { __typename id handle } } } }"""


def _keyed(value: Any, found: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    if isinstance(value, list):
        for item in value:
            _keyed(item, found)
    elif isinstance(value, dict):
        if "__typename" in value and "id" in value:
            found.setdefault((value["__typename"], value["id"]), []).append(value)
        for item in value.values():
            _keyed(item, found)


async def test_typename_and_id_name_one_object_across_a_sidebar_query(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    second = await create_guild(w.owner, "Second")
    text = next(c["id"] for c in second["channels"] if c["type"] == "TEXT")
    await invite_and_join(w.owner, w.member, text)
    (
        await w.member.client.execute(
            "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }",
            {"u": w.owner.id},
        )
    ).ok()
    data = (await w.member.client.execute(SIDEBAR)).ok()
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    _keyed(data, found)
    # A cache merges every occurrence of a key into one record: they must all be one object.
    for key, occurrences in found.items():
        for field in {f for o in occurrences for f in o if not isinstance(o[f], dict | list)}:
            assert len({o.get(field) for o in occurrences if field in o}) == 1, (key, field)
    # The member's two memberships are two objects; the user behind them is one.
    memberships = [k for k in found if k[0] == "Member" and k[1].endswith(f":{w.member.id}")]
    assert len(memberships) == 2
    assert ("User", w.member.id) in found
    # Each guild and its @everyone role share an id and differ by __typename.
    for guild in data["me"]["guilds"]:
        assert ("Guild", guild["id"]) in found and ("Role", guild["id"]) in found
