"""Channel rules through GraphQL: slowmode (timed with the services' clock, not sleeps), the
NSFW flag and the default auto-archive of threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.client import GraphQLClient
from tests.support.guilds import grant, make_world
from tests.support.server import RunningServer

RULES = """mutation($c: ID!, $r: Int, $n: Boolean, $a: Int) {
  updateChannel(input: {channelId: $c, rateLimitPerUser: $r, nsfw: $n, defaultAutoArchiveMinutes: $a}) {
    channel { ... on TextChannel { rateLimitPerUser nsfw defaultAutoArchiveMinutes } } } }"""
READ = """query($c: ID!) { channel(id: $c) { ... on TextChannel {
  rateLimitPerUser nsfw defaultAutoArchiveMinutes } } }"""
SEND = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"
CREATE_CHANNEL = """mutation($g: ID!, $r: Int, $n: Boolean, $a: Int, $t: ChannelType!) {
  createChannel(input: {guildId: $g, type: $t, name: "rules", rateLimitPerUser: $r, nsfw: $n, defaultAutoArchiveMinutes: $a}) {
    channel { id ... on TextChannel { rateLimitPerUser nsfw defaultAutoArchiveMinutes } } } }"""


async def test_rules_are_set_at_creation_and_changed_with_manage_channels(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    created = (
        await w.owner.client.execute(
            CREATE_CHANNEL, {"g": w.guild_id, "t": "TEXT", "r": 30, "n": True, "a": 60}
        )
    ).ok()["createChannel"]["channel"]
    assert (
        created["rateLimitPerUser"],
        created["nsfw"],
        created["defaultAutoArchiveMinutes"],
    ) == (30, True, 60)
    plain = (await w.member.client.execute(READ, {"c": w.text_id})).ok()["channel"]
    assert plain == {"rateLimitPerUser": 0, "nsfw": False, "defaultAutoArchiveMinutes": 1440}
    # Without MANAGE_CHANNELS: refused, unchanged.
    (await w.member.client.execute(RULES, {"c": w.text_id, "r": 5, "n": True})).error("FORBIDDEN")
    assert (await w.member.client.execute(READ, {"c": w.text_id})).ok()["channel"] == plain
    (await w.outsider.client.execute(RULES, {"c": w.text_id, "r": 5})).error("NOT_FOUND")
    changed = (
        await w.owner.client.execute(RULES, {"c": w.text_id, "r": 21600, "n": True, "a": 10080})
    ).ok()["updateChannel"]["channel"]
    assert changed == {"rateLimitPerUser": 21600, "nsfw": True, "defaultAutoArchiveMinutes": 10080}
    # Out of range, or on a channel kind without these settings.
    for variables, field in (
        ({"r": 21601}, "rateLimitPerUser"),
        ({"r": -1}, "rateLimitPerUser"),
        ({"a": 30}, "defaultAutoArchiveMinutes"),
    ):
        error = (await w.owner.client.execute(RULES, {"c": w.text_id, **variables})).error(
            "BAD_USER_INPUT"
        )
        assert error["extensions"]["field"] == field
    (await w.owner.client.execute(RULES, {"c": w.voice_id, "r": 5})).error("BAD_USER_INPUT")
    (
        await w.owner.client.execute(CREATE_CHANNEL, {"g": w.guild_id, "t": "VOICE", "n": True})
    ).error("BAD_USER_INPUT")
    assert (await w.member.client.execute(READ, {"c": w.text_id})).ok()["channel"] == changed


async def test_slowmode_spaces_a_members_messages_and_says_when_to_send_again(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    clock = server.services.clock
    (await w.owner.client.execute(RULES, {"c": w.text_id, "r": 10})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "one"})).ok()
    clock.advance(timedelta(seconds=4))
    error = (await w.member.client.execute(SEND, {"c": w.text_id, "t": "too soon"})).error(
        "RATE_LIMITED"
    )
    assert error["extensions"]["retryAfterSeconds"] == 6
    retry_at = datetime.fromisoformat(error["extensions"]["retryAt"])
    expected = clock.now() + timedelta(seconds=6)
    assert abs((retry_at - expected).total_seconds()) < 1
    assert retry_at.tzinfo == UTC or retry_at.utcoffset() == timedelta(0)
    # The refused message was not stored, and another member has their own spacing.
    history = (
        await w.owner.client.execute(
            "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages(last: 5) { edges { node { content } } } } } }",
            {"c": w.text_id},
        )
    ).ok()["channel"]["messages"]["edges"]
    assert "too soon" not in [e["node"]["content"] for e in history]
    clock.advance(timedelta(seconds=6))
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "two"})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "three"})).error("RATE_LIMITED")


async def test_manage_messages_or_manage_channels_lift_slowmode(client: GraphQLClient) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(RULES, {"c": w.text_id, "r": 600})).ok()
    for _ in range(3):
        (await w.owner.client.execute(SEND, {"c": w.text_id, "t": "owner"})).ok()
    await grant(w, w.member, ["MANAGE_MESSAGES"])
    for _ in range(3):
        (await w.member.client.execute(SEND, {"c": w.text_id, "t": "moderator"})).ok()


async def test_manage_channels_alone_lifts_slowmode(client: GraphQLClient) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(RULES, {"c": w.text_id, "r": 600})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "one"})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "two"})).error("RATE_LIMITED")
    await grant(w, w.member, ["MANAGE_CHANNELS"])
    for _ in range(3):
        (await w.member.client.execute(SEND, {"c": w.text_id, "t": "channel manager"})).ok()


async def test_slowmode_off_again_lets_messages_through(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(RULES, {"c": w.text_id, "r": 3600})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "one"})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "two"})).error("RATE_LIMITED")
    (await w.owner.client.execute(RULES, {"c": w.text_id, "r": 0})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "three"})).ok()
    (await w.member.client.execute(SEND, {"c": w.text_id, "t": "four"})).ok()


async def test_threads_take_the_channels_default_auto_archive(client: GraphQLClient) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(RULES, {"c": w.text_id, "a": 4320})).ok()
    thread = (
        await w.member.client.execute(
            """mutation($c: ID!) { createThread(input: {channelId: $c, name: "t"}) {
              thread { autoArchiveMinutes } } }""",
            {"c": w.text_id},
        )
    ).ok()["createThread"]["thread"]
    assert thread == {"autoArchiveMinutes": 4320}


async def test_a_retried_send_with_its_nonce_is_not_refused_by_slowmode(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    (await w.owner.client.execute(RULES, {"c": w.text_id, "r": 600})).ok()
    send = """mutation($c: ID!, $n: String) { sendMessage(input: {channelId: $c, content: "once", nonce: $n}) {
      created message { id } } }"""
    first = (await w.member.client.execute(send, {"c": w.text_id, "n": "n-1"})).ok()["sendMessage"]
    retry = (await w.member.client.execute(send, {"c": w.text_id, "n": "n-1"})).ok()["sendMessage"]
    assert retry == {"created": False, "message": first["message"]}
    (await w.member.client.execute(send, {"c": w.text_id, "n": "n-2"})).error("RATE_LIMITED")
    (await w.member.client.execute(send, {"c": w.text_id, "n": None})).error("RATE_LIMITED")
