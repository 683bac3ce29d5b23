"""Hostile and broken input: text no database can store, field errors among concurrent sibling
loads, explicit nulls. Each gets a clear error with its code, and fails no one else's request."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient, Result
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, invite_and_join
from tests.support.server import RunningServer

SEND = """mutation($c: ID!, $content: String!, $nonce: String) {
  sendMessage(input: {channelId: $c, content: $content, nonce: $nonce}) { message { id content } }
}"""


async def raw(server: RunningServer, body: dict[str, Any], *, token: str | None = None) -> Result:
    """Posts the body as ASCII JSON, so lone surrogates travel as `\\ud800` escapes (what a
    JavaScript client's JSON.stringify sends for a broken string)."""
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{server.url}/graphql", content=json.dumps(body).encode(), headers=headers
        )
    return Result(response.status_code, response.json())


class TestSiblingFieldErrors:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # The query under test is costed as if every list were long: let it run.
        return {"graphql_max_cost": 100_000, "rate_cost_per_user": "100000000/60"}

    # graphql-core cancels the pending siblings of a failing field; a sibling cancelled before
    # it started leaves the coroutines made for it unawaited, which Python reports as a warning.
    @pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
    async def test_sibling_field_error_never_breaks_shared_loads(
        self, server: RunningServer, client: GraphQLClient
    ) -> None:
        # Guilds with one owner share that owner's dataloader future. A bad page size fails a
        # non-null field while those loads are pending, the error propagates, and execution
        # cancels the failing field's siblings: that must not cancel the shared future under
        # the feet of the fields that await it elsewhere.
        user = await signed_up(client)
        owner = await signed_up(client)
        for n in range(3):
            guild = await create_guild(owner, f"g{n}")
            await invite_and_join(owner, user, guild["channels"][0]["id"])
        for n in range(2):
            await create_guild(user, f"u{n}")
        failing = "guilds { owner { createdAt } members(first: 0) { edges { cursor } } }"
        queries = [
            "{ me { handle " + failing + " } }",
            "{ b: me { guilds { owner { createdAt } } } a: me { handle " + failing + " } }",
        ]
        for query in queries:
            for _ in range(3):
                results = await asyncio.gather(*(user.client.execute(query) for _ in range(30)))
                for result in results:
                    assert result.status == 200
                    assert result.data is None
                    # The page size's own errors, from execution (not a refusal before it).
                    assert result.errors, result.body
                    for error in result.errors:
                        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
                        assert error["extensions"]["field"] == "first", error
                        assert error["path"][-1] == "members", error


async def _guild_channel(client: GraphQLClient) -> tuple[Any, str]:
    user = await signed_up(client)
    guild = await create_guild(user)
    return user, next(c["id"] for c in guild["channels"] if c["type"] == "TEXT")


async def test_invalid_unicode_in_variables_is_bad_user_input(
    server: RunningServer, client: GraphQLClient
) -> None:
    user, channel = await _guild_channel(client)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (SEND, {"c": channel, "content": "a\ud800b"}, "content"),
        (SEND, {"c": channel, "content": "ok", "nonce": "n\udfff"}, "nonce"),
        (SEND, {"c": channel, "content": "a\x00b"}, "content"),
        (
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { created } }",
            {"input": {"channelId": channel, "content": "a\ud800b"}},
            "input.content",
        ),
        (
            "mutation($n: String!, $p: [Permission!]!, $g: ID!) {"
            " createRole(input: {guildId: $g, name: $n, permissions: $p}) { role { id } } }",
            {"g": "1", "n": "role", "p": ["SEND_MESSAGES", "x\ud800"]},
            "p[1]",
        ),
    ]
    for query, variables, field in cases:
        result = await raw(server, {"query": query, "variables": variables}, token=user.token)
        error = result.error("BAD_USER_INPUT")
        assert error["extensions"]["field"] == field
        assert "data" not in result.body
    history = await user.client.execute(
        "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages {"
        " edges { node { id } } } } } }",
        {"c": channel},
    )
    assert history.ok()["channel"]["messages"]["edges"] == []


async def test_nul_in_an_inline_string_literal_is_bad_user_input(
    client: GraphQLClient,
) -> None:
    user, channel = await _guild_channel(client)
    query = (
        "mutation { sendMessage(input: {channelId: "
        + json.dumps(channel)
        + ', content: "a\\u0000b"}) { created } }'
    )
    result = await user.client.execute(query)
    assert result.error("BAD_USER_INPUT")["locations"]


async def test_valid_astral_text_is_stored_as_sent(client: GraphQLClient) -> None:
    user, channel = await _guild_channel(client)
    sent = await user.client.execute(SEND, {"c": channel, "content": "a\U0001f600b \u00e9"})
    assert sent.ok()["sendMessage"]["message"]["content"] == "a\U0001f600b \u00e9"


async def test_a_bad_send_fails_no_other_users_concurrent_sends(
    server: RunningServer, client: GraphQLClient
) -> None:
    alice, alice_channel = await _guild_channel(client)
    bob, bob_channel = await _guild_channel(client)
    good = [
        alice.client.execute(SEND, {"c": alice_channel, "content": f"m{n}", "nonce": f"a{n}"})
        for n in range(10)
    ]
    bad = [
        raw(
            server,
            {"query": SEND, "variables": {"c": bob_channel, "content": text, "nonce": f"b{n}"}},
            token=bob.token,
        )
        for n, text in enumerate(["x\ud800", "y\x00"])
    ]
    results = await asyncio.gather(*good, *bad)
    for result in results[:10]:
        result.ok()
    for result in results[10:]:
        result.error("BAD_USER_INPUT")


async def test_explicit_null_for_a_field_with_a_default_names_the_field(
    client: GraphQLClient,
) -> None:
    user, channel = await _guild_channel(client)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "mutation($c: ID!, $m: Int) {"
            " createInvite(input: {channelId: $c, maxUses: $m}) { invite { code } } }",
            {"c": channel, "m": None},
            "input.maxUses",
        ),
        (
            "mutation($i: CreateInviteInput!) { createInvite(input: $i) { invite { code } } }",
            {"i": {"channelId": channel, "maxUses": None}},
            "i.maxUses",
        ),
        (
            "mutation($c: ID!) {"
            " createInvite(input: {channelId: $c, maxUses: null}) { invite { code } } }",
            {"c": channel},
            "maxUses",
        ),
    ]
    for query, variables, field in cases:
        error = (await user.client.execute(query, variables)).error("BAD_USER_INPUT")
        assert error["extensions"]["field"] == field
        assert "must not be null" in error["message"] and field in error["message"]
        assert "None" not in error["message"]
    # Leaving the field out still means its default.
    created = await user.client.execute(
        "mutation($c: ID!) { createInvite(input: {channelId: $c}) { invite { maxUses } } }",
        {"c": channel},
    )
    assert created.ok()["createInvite"]["invite"]["maxUses"] == 0


async def test_coercion_errors_show_values_as_json_not_python(client: GraphQLClient) -> None:
    user, channel = await _guild_channel(client)
    query = "mutation($i: CreateInviteInput!) { createInvite(input: $i) { invite { code } } }"
    for variables in (
        {"i": {"channelId": channel, "maxUses": True}},
        {"i": {"channelId": channel, "bogus": None}},
        {"i": None},
    ):
        error = (await user.client.execute(query, variables)).error("BAD_USER_INPUT")
        assert not any(word in error["message"] for word in ("None", "True", "{'")), error


async def test_invalid_unicode_in_names_is_refused_cleanly(server: RunningServer) -> None:
    for body in (
        {"query": "query A { __typename }", "operationName": "A\ud800"},
        {"query": "query($x: String) { __typename }", "variables": {"x\ud800": "1"}},
        {"query": "query($x: JSON) { __typename }", "variables": {"x": {"k\ud800": 1}}},
    ):
        result = await raw(server, body)
        assert result.codes == ["BAD_USER_INPUT"], result
        assert "data" not in result.body
