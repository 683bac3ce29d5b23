"""Manual embeds and SUPPRESS_EMBEDS through GraphQL, on SQL and Cassandra message stores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, invite_and_join


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


EMBED_FIELDS = """
  type url title description color timestamp
  author { name url iconUrl } footer { text iconUrl }
  image { url proxyUrl width height } thumbnail { url } video { url }
  provider { name url } fields { name value inline }
"""
SEND = (
    """
mutation($c: ID!, $content: String!, $embeds: [EmbedInput!], $nonce: String) {
  sendMessage(input: {channelId: $c, content: $content, embeds: $embeds, nonce: $nonce}) {
    message { id content flags embeds {"""
    + EMBED_FIELDS
    + """} }
  }
}"""
)
EDIT = (
    """
mutation($m: ID!, $content: String, $embeds: [EmbedInput!], $suppress: Boolean) {
  editMessage(input: {messageId: $m, content: $content, embeds: $embeds,
                      suppressEmbeds: $suppress}) {
    message { id content editedAt flags embeds {"""
    + EMBED_FIELDS
    + """} }
  }
}"""
)
READ = "query($m: ID!) { message(id: $m) { content flags editedAt embeds {" + EMBED_FIELDS + "} } }"

CARD = {
    "title": "Release 2.0",
    "description": "What changed",
    "url": "https://example.com/releases/2",
    "color": 0x3366FF,
    "timestamp": "2026-12-01T10:00:00Z",
    "author": {"name": "Ada", "url": "https://example.com/ada"},
    "footer": {"text": "changelog", "iconUrl": "https://example.com/i.png"},
    "image": {"url": "https://example.com/big.png"},
    "thumbnail": {"url": "https://example.com/small.png"},
    "fields": [{"name": "Breaking", "value": "none", "inline": True}],
}


async def _channel(client: GraphQLClient):  # type: ignore[no-untyped-def]
    owner = await signed_up(client)
    guild = await create_guild(owner)
    return owner, guild["channels"][0]["id"]


async def test_manual_embeds_are_stored_shown_and_replaced_by_edits(client: GraphQLClient) -> None:
    owner, channel = await _channel(client)
    sent = (
        await owner.client.execute(
            SEND, {"c": channel, "content": "", "embeds": [CARD, {"description": "second"}]}
        )
    ).ok()["sendMessage"]["message"]
    assert sent["content"] == ""
    assert sent["flags"] == []
    first, second = sent["embeds"]
    assert first == {
        "type": "RICH",
        "url": CARD["url"],
        "title": "Release 2.0",
        "description": "What changed",
        "color": 0x3366FF,
        "timestamp": "2026-12-01T10:00:00.000Z",
        "author": {"name": "Ada", "url": "https://example.com/ada", "iconUrl": None},
        "footer": {"text": "changelog", "iconUrl": "https://example.com/i.png"},
        "image": {
            "url": "https://example.com/big.png",
            "proxyUrl": None,
            "width": None,
            "height": None,
        },
        "thumbnail": {"url": "https://example.com/small.png"},
        "video": None,
        "provider": None,
        "fields": [{"name": "Breaking", "value": "none", "inline": True}],
    }
    assert second["description"] == "second" and second["fields"] == []
    read = (await owner.client.execute(READ, {"m": sent["id"]})).ok()["message"]
    assert read["embeds"] == sent["embeds"]

    edited = (
        await owner.client.execute(EDIT, {"m": sent["id"], "embeds": [{"title": "only"}]})
    ).ok()["editMessage"]["message"]
    assert [e["title"] for e in edited["embeds"]] == ["only"]
    assert edited["editedAt"] is not None
    # Without content, the last embed cannot go.
    (await owner.client.execute(EDIT, {"m": sent["id"], "embeds": []})).error("BAD_USER_INPUT")
    cleared = (
        await owner.client.execute(EDIT, {"m": sent["id"], "content": "text now", "embeds": []})
    ).ok()["editMessage"]["message"]
    assert cleared["embeds"] == [] and cleared["content"] == "text now"
    read = (await owner.client.execute(READ, {"m": sent["id"]})).ok()["message"]
    assert read["embeds"] == [] and read["content"] == "text now"


def _long_fields(count: int) -> list[dict[str, str]]:
    return [{"name": f"n{i}", "value": "v"} for i in range(count)]


@pytest.mark.parametrize(
    ("embeds", "field"),
    [
        ([{"title": "t"}] * 11, "embeds"),
        ([{"title": "x" * 257}], "embeds[0].title"),
        ([{"title": "ok"}, {"description": "x" * 4097}], "embeds[1].description"),
        ([{"fields": _long_fields(26)}], "embeds[0].fields"),
        ([{"fields": [{"name": "x" * 257, "value": "v"}]}], "embeds[0].fields[0].name"),
        ([{"fields": [{"name": "n", "value": "x" * 1025}]}], "embeds[0].fields[0].value"),
        ([{"fields": [{"name": "n", "value": " "}]}], "embeds[0].fields[0].value"),
        ([{"footer": {"text": ""}}], "embeds[0].footer.text"),
        ([{"footer": {"text": "x" * 2049}}], "embeds[0].footer.text"),
        ([{"author": {"name": "x" * 257}}], "embeds[0].author.name"),
        ([{"title": "t", "color": 0x1000000}], "embeds[0].color"),
        ([{"title": "t", "color": -1}], "embeds[0].color"),
        ([{"title": "t", "url": "ftp://example.com/x"}], "embeds[0].url"),
        ([{"title": "t", "url": "https://user:pw@example.com/"}], "embeds[0].url"),
        ([{"image": {"url": "javascript:alert(1)"}}], "embeds[0].image.url"),
        (
            [{"title": "t", "author": {"name": "a", "iconUrl": "/relative"}}],
            "embeds[0].author.iconUrl",
        ),
        ([{"url": "https://example.com"}], "embeds[0]"),
        # 6,000 characters of text at most over all embeds: 2 x 4,000 is over.
        ([{"description": "x" * 4000}, {"description": "y" * 4000}], "embeds"),
    ],
)
async def test_each_embed_limit_is_a_bad_user_input_naming_the_field(
    client: GraphQLClient, embeds: list[dict[str, Any]], field: str
) -> None:
    owner, channel = await _channel(client)
    error = (
        await owner.client.execute(SEND, {"c": channel, "content": "hi", "embeds": embeds})
    ).error("BAD_USER_INPUT")
    assert error["extensions"]["field"] == field
    sent = (await owner.client.execute(SEND, {"c": channel, "content": "hi"})).ok()
    message_id = sent["sendMessage"]["message"]["id"]
    error = (await owner.client.execute(EDIT, {"m": message_id, "embeds": embeds})).error(
        "BAD_USER_INPUT"
    )
    assert error["extensions"]["field"] == field
    read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
    assert read["embeds"] == [] and read["editedAt"] is None


async def test_a_retried_send_keeps_the_embeds_of_the_first(client: GraphQLClient) -> None:
    owner, channel = await _channel(client)
    variables = {"c": channel, "content": "hi", "embeds": [{"title": "once"}], "nonce": "e-1"}
    first = (await owner.client.execute(SEND, variables)).ok()["sendMessage"]["message"]
    again = (await owner.client.execute(SEND, variables)).ok()["sendMessage"]["message"]
    assert again == first
    assert [e["title"] for e in first["embeds"]] == ["once"]


async def test_suppress_embeds_is_for_the_author_or_manage_messages(
    client: GraphQLClient,
) -> None:
    owner, channel = await _channel(client)
    member = await signed_up(client)
    await invite_and_join(owner, member, channel)
    mine = await member.client.execute(SEND, {"c": channel, "content": "see https://example.com"})
    message_id = mine.ok()["sendMessage"]["message"]["id"]
    by_author = (await member.client.execute(EDIT, {"m": message_id, "suppress": True})).ok()
    assert by_author["editMessage"]["message"]["flags"] == ["SUPPRESS_EMBEDS"]
    # Flags alone do not count as an edit of the text.
    assert by_author["editMessage"]["message"]["editedAt"] is None

    theirs = (await owner.client.execute(SEND, {"c": channel, "content": "owner's"})).ok()
    owner_message = theirs["sendMessage"]["message"]["id"]
    (await member.client.execute(EDIT, {"m": owner_message, "suppress": True})).error("FORBIDDEN")
    (await member.client.execute(EDIT, {"m": owner_message, "content": "x"})).error("FORBIDDEN")
    # The owner holds MANAGE_MESSAGES: may suppress, not rewrite.
    shown = (await owner.client.execute(EDIT, {"m": message_id, "suppress": False})).ok()
    assert shown["editMessage"]["message"]["flags"] == []
    (await owner.client.execute(EDIT, {"m": message_id, "content": "rewritten"})).error("FORBIDDEN")
    (await owner.client.execute(EDIT, {"m": message_id})).error("BAD_USER_INPUT")
    read = (await member.client.execute(READ, {"m": message_id})).ok()["message"]
    assert read["flags"] == [] and read["content"] == "see https://example.com"
