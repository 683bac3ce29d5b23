"""Every DateTime the API returns has one form: RFC 3339, UTC, milliseconds, `Z`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.guilds import make_world

RFC3339_MS_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

SEND = """mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "hi", nonce: "dt-1"}) {
  message { createdAt editedAt } } }"""
EDIT = """mutation($m: ID!) { editMessage(input: {messageId: $m, content: "edited"}) {
  message { createdAt editedAt } } }"""
SEND_ID = """mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "x", nonce: "dt-2"}) {
  message { id } } }"""
INVITE = """mutation($c: ID!) { createInvite(input: {channelId: $c, maxAgeSeconds: 3600}) {
  invite { createdAt expiresAt } } }"""
TIMEOUT = """mutation($g: ID!, $u: ID!, $t: DateTime) {
  timeoutMember(input: {guildId: $g, userId: $u, until: $t}) { member { timeoutUntil } } }"""
EVERYWHERE = """query($g: ID!) {
  me { createdAt }
  guild(id: $g) { createdAt
    members(first: 5) { edges { node { joinedAt } } }
    auditLog(first: 5) { edges { node { createdAt changes } } } } }"""


def _timestamps(value: Any) -> list[str]:
    """Every string under a key that names a time."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key.endswith(("At", "Until")):
                found.append(item)
            else:
                found.extend(_timestamps(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_timestamps(item))
    return found


async def test_every_datetime_is_rfc3339_utc_with_milliseconds(client: GraphQLClient) -> None:
    w = await make_world(client)
    owner = w.owner.client
    sent = (await owner.execute(SEND, {"c": w.text_id})).ok()["sendMessage"]["message"]
    message_id = (await owner.execute(SEND_ID, {"c": w.text_id})).ok()["sendMessage"]["message"][
        "id"
    ]
    edited = (await owner.execute(EDIT, {"m": message_id})).ok()["editMessage"]["message"]
    invite = (await owner.execute(INVITE, {"c": w.text_id})).ok()["createInvite"]["invite"]
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    (await owner.execute(TIMEOUT, {"g": w.guild_id, "u": w.member.id, "t": until})).ok()
    everywhere = (await owner.execute(EVERYWHERE, {"g": w.guild_id})).ok()

    seen = _timestamps([sent, edited, invite, everywhere])
    assert len(seen) >= 9
    assert [s for s in seen if not RFC3339_MS_UTC.match(s)] == []
    # The audit log's stored change values use the same form.
    changes = [e["node"]["changes"] for e in everywhere["guild"]["auditLog"]["edges"]]
    timeout_change = next(c for c in changes if "timeoutUntil" in c)
    assert RFC3339_MS_UTC.match(timeout_change["timeoutUntil"][1])


async def test_datetime_input_takes_any_offset_and_answers_in_utc(client: GraphQLClient) -> None:
    w = await make_world(client)
    at = datetime.now(UTC).replace(microsecond=123456) + timedelta(hours=2)
    plus_two = at.astimezone(timezone(timedelta(hours=2))).isoformat()
    answer = (
        await w.owner.client.execute(TIMEOUT, {"g": w.guild_id, "u": w.member.id, "t": plus_two})
    ).ok()["timeoutMember"]["member"]["timeoutUntil"]
    assert answer == at.strftime("%Y-%m-%dT%H:%M:%S.123Z")


async def test_datetime_input_without_an_offset_is_refused(client: GraphQLClient) -> None:
    w = await make_world(client)
    naive = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    for bad in [naive, "tomorrow", "2026-12-07", 1765084714]:
        result = await w.owner.client.execute(
            TIMEOUT, {"g": w.guild_id, "u": w.member.id, "t": bad}
        )
        error = result.error("BAD_USER_INPUT")
        assert "RFC 3339" in error["message"]
        assert result.data is None


async def test_datetime_scalar_names_its_specification(client: GraphQLClient) -> None:
    result = await client.execute('{ __type(name: "DateTime") { specifiedByURL } }')
    assert "rfc3339" in result.ok()["__type"]["specifiedByURL"]
