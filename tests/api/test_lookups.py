"""One rule for every field that looks a single object up by id or code: missing and not visible
look the same (null at that field, one NOT_FOUND error with its path), and the rest of the
document still answers."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.guilds import make_world

MISSING = "123456789012345678"

LOOKUPS = """query($g: ID!, $c: ID!, $m: ID!, $d: ID!, $u: ID!, $code: String!) {
  me { id }
  guild(id: $g) { id }
  channel(id: $c) { id }
  message(id: $m) { id }
  directMessageChannel(id: $d) { id }
  user(id: $u) { id }
  invite(code: $code) { code }
}"""
SEND = """mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "secret", nonce: "l-1"}) {
  message { id } } }"""
OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"
FIELDS = ["guild", "channel", "message", "directMessageChannel", "user", "invite"]


def _shape(result_body: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    errors = sorted(
        (e["path"][0], e["extensions"]["code"], e["message"]) for e in result_body["errors"]
    )
    return result_body["data"], errors


async def test_missing_objects_are_null_with_one_not_found_each(client: GraphQLClient) -> None:
    w = await make_world(client)
    result = await w.outsider.client.execute(
        LOOKUPS,
        {
            "g": MISSING,
            "c": MISSING,
            "m": MISSING,
            "d": MISSING,
            "u": MISSING,
            "code": "nosuchcode",
        },
    )
    data, errors = _shape(result.body)
    assert data == {"me": {"id": w.outsider.id}, **dict.fromkeys(FIELDS)}
    assert [(path, code) for path, code, _ in errors] == [(f, "NOT_FOUND") for f in sorted(FIELDS)]


async def test_objects_one_may_not_see_look_exactly_like_missing_ones(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    message_id = (await w.owner.client.execute(SEND, {"c": w.text_id})).ok()["sendMessage"][
        "message"
    ]["id"]
    dm_id = (await w.owner.client.execute(OPEN_DM, {"u": w.member.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    hidden = await w.outsider.client.execute(
        LOOKUPS,
        {
            "g": w.guild_id,
            "c": w.text_id,
            "m": message_id,
            "d": dm_id,
            "u": MISSING,
            "code": "nosuchcode",
        },
    )
    missing = await w.outsider.client.execute(
        LOOKUPS,
        {
            "g": MISSING,
            "c": MISSING,
            "m": MISSING,
            "d": MISSING,
            "u": MISSING,
            "code": "nosuchcode",
        },
    )
    assert _shape(hidden.body) == _shape(missing.body)
    # ...while the members see them.
    seen = (
        await w.member.client.execute(
            LOOKUPS,
            {
                "g": w.guild_id,
                "c": w.text_id,
                "m": message_id,
                "d": dm_id,
                "u": w.owner.id,
                "code": "nosuchcode",
            },
        )
    ).body["data"]
    assert seen["guild"] == {"id": w.guild_id}
    assert seen["message"] == {"id": message_id}
    assert seen["directMessageChannel"] == {"id": dm_id}
    assert seen["user"] == {"id": w.owner.id}


async def test_a_malformed_id_is_bad_input_not_not_found(client: GraphQLClient) -> None:
    w = await make_world(client)
    result = await w.member.client.execute('{ guild(id: "not-an-id") { id } }')
    assert result.error("BAD_USER_INPUT")["path"] == ["guild"]
    assert result.data == {"guild": None}
