"""Query cost limits: an operation's cost is computed before it runs (object fields times the
lists around them, fragments expanded, aliases each, variables with their values); over the
budget nothing runs, and each user spends cost points from a budget per window.

The limits sit in front of storage, so one backend is enough here."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import SignedUpUser, signed_up
from tests.support.guilds import create_guild, text_channel

pytestmark = pytest.mark.timeout(60)

MAX_COST = 5000  # the default budget

# The page: 1 channel + 1 connection + 100 x (edge + node + author + 20 reactions).
PAGE_BODY = (
    "messages(last: 100) { edges { node { id content author { id } reactions { count } } } }"
)
PAGE = f"... on TextChannel {{ {PAGE_BODY} }}"
PAGE_COST = 2302


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def owner_with_channel(client: GraphQLClient) -> tuple[SignedUpUser, str]:
    owner = await signed_up(client)
    guild = await create_guild(owner)
    return owner, await text_channel(owner.client, guild["id"])


def aliased(count: int, body: str) -> str:
    return " ".join(f"a{n}: channel(id: $c) {{ {body} }}" for n in range(count))


def refused_for_cost(result: Any, cost: int) -> dict[str, Any]:
    error: dict[str, Any] = result.error("BAD_USER_INPUT")
    assert result.data is None
    assert error["extensions"]["cost"] == cost
    assert error["extensions"]["maxCost"] == MAX_COST
    assert str(cost) in error["message"]
    return error


async def test_the_alias_attack_is_refused_with_its_cost_and_the_server_stays_responsive(
    client: GraphQLClient,
) -> None:
    owner, channel = await owner_with_channel(client)
    attack = f"query($c: ID!) {{ {aliased(30, PAGE)} }}"

    async def one_attack() -> Any:
        return await owner.client.execute(attack, {"c": channel})

    *attacks, me = await asyncio.gather(
        *(one_attack() for _ in range(6)), owner.client.execute("{ me { id } }")
    )
    for result in attacks:
        refused_for_cost(result, 30 * PAGE_COST)
    assert me.ok() == {"me": {"id": owner.id}}


async def test_an_over_budget_mutation_runs_nothing(client: GraphQLClient) -> None:
    owner, channel = await owner_with_channel(client)
    # Each alias: payload + message + reactors connection + 100 x (edge + node) = 203.
    sends = " ".join(
        f'm{n}: sendMessage(input: {{channelId: $c, content: "flood {n}"}}) '
        '{ message { reactors(emoji: {unicode: "x"}, first: 100) { edges { node { id } } } } }'
        for n in range(25)
    )
    refused_for_cost(
        await owner.client.execute(f"mutation($c: ID!) {{ {sends} }}", {"c": channel}), 25 * 203
    )
    history = (
        await owner.client.execute(
            "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages { edges { node { content } } } } } }",
            {"c": channel},
        )
    ).ok()
    contents = [e["node"]["content"] for e in history["channel"]["messages"]["edges"]]
    assert not [c for c in contents if c.startswith("flood")]


async def test_named_fragments_count_where_they_are_spread(client: GraphQLClient) -> None:
    owner, channel = await owner_with_channel(client)
    # The page behind two levels of named fragments, spread under three aliases.
    document = (
        "fragment Node on Message { id content author { id } reactions { count } } "
        "fragment Page on TextChannel { messages(last: 100) { edges { node { ...Node } } } } "
        "query($c: ID!) { a: channel(id: $c) { ...Page } b: channel(id: $c) { ...Page } "
        "c: channel(id: $c) { ...Page } }"
    )
    refused_for_cost(await owner.client.execute(document, {"c": channel}), 3 * PAGE_COST)


async def test_inline_fragments_and_aliases_inside_them_are_counted(
    client: GraphQLClient,
) -> None:
    owner, channel = await owner_with_channel(client)
    document = (
        "query($c: ID!) { channel(id: $c) { ... on TextChannel { "
        + " ".join(f"p{n}: {PAGE_BODY}" for n in range(3))
        + " } } }"
    )
    # One channel, three pages of 2301 each.
    refused_for_cost(await owner.client.execute(document, {"c": channel}), 1 + 3 * 2301)


async def test_a_fragment_repeated_in_one_selection_runs_once_and_counts_once(
    client: GraphQLClient,
) -> None:
    owner, channel = await owner_with_channel(client)
    # GraphQL merges the repeats into one field: 2 x 2302 passes (counted four times, it would not).
    document = (
        f"fragment Page on TextChannel {{ {PAGE} }} "
        "query($c: ID!) { a: channel(id: $c) { ...Page ...Page ... on TextChannel { ...Page } } "
        "b: channel(id: $c) { ...Page ...Page } }"
    )
    data = (await owner.client.execute(document, {"c": channel})).ok()
    assert set(data) == {"a", "b"}


async def test_variables_count_with_the_values_sent(client: GraphQLClient) -> None:
    owner, channel = await owner_with_channel(client)
    body = "... on TextChannel { messages(last: $n) { edges { node { id content author { id } reactions { count } } } } }"
    document = f"query($c: ID!, $n: Int) {{ {aliased(3, body)} }}"
    refused_for_cost(await owner.client.execute(document, {"c": channel, "n": 100}), 3 * PAGE_COST)
    # Ten a page: 3 x (1 + 1 + 10 x 23) = 696.
    assert set((await owner.client.execute(document, {"c": channel, "n": 10})).ok()) == {
        "a0",
        "a1",
        "a2",
    }
    with_default = f"query($c: ID!, $n: Int = 100) {{ {aliased(3, body)} }}"
    refused_for_cost(await owner.client.execute(with_default, {"c": channel}), 3 * PAGE_COST)


async def test_a_page_size_over_the_maximum_counts_as_the_maximum(client: GraphQLClient) -> None:
    owner, channel = await owner_with_channel(client)
    body = "... on TextChannel { messages(first: 100000) { edges { node { id content author { id } reactions { count } } } } }"
    refused_for_cost(
        await owner.client.execute(f"query($c: ID!) {{ {aliased(3, body)} }}", {"c": channel}),
        3 * PAGE_COST,
    )


async def test_a_client_sidebar_and_a_full_history_page_pass(client: GraphQLClient) -> None:
    owner, channel = await owner_with_channel(client)
    sent = (
        await owner.client.execute(
            'mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "hi"}) '
            "{ message { id } } }",
            {"c": channel},
        )
    ).ok()["sendMessage"]["message"]["id"]
    (
        await owner.client.execute(
            'mutation($m: ID!) { addReaction(input: {messageId: $m, emoji: {unicode: "👍"}}) '
            "{ message { id } } }",
            {"m": sent},
        )
    ).ok()
    sidebar = (
        await owner.client.execute(
            "{ me { id handle guilds { id name channels { id name type ... on TextChannel { lastMessageId } } "
            "roles { id name } } directMessageChannels { id recipients { id handle } } "
            "readStates { channelId lastReadMessageId } } }"
        )
    ).ok()
    assert sidebar["me"]["guilds"][0]["channels"]
    page = (
        await owner.client.execute(
            "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages(last: 100) { edges { cursor node { "
            "id content author { id handle } reactions { count me emoji { unicode } } "
            "mentions { userIds } } } pageInfo { hasPreviousPage } } } } }",
            {"c": channel},
        )
    ).ok()
    [edge] = page["channel"]["messages"]["edges"]
    assert edge["node"]["reactions"] == [{"count": 1, "me": True, "emoji": {"unicode": "👍"}}]


async def test_graphiql_introspection_passes(client: GraphQLClient) -> None:
    from graphql import get_introspection_query

    data = (await client.execute(get_introspection_query(descriptions=True))).ok()
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_aliased_introspection_is_counted(client: GraphQLClient) -> None:
    each = "__schema { types { name fields { name type { name ofType { name } } } } }"
    result = await client.execute("{ " + " ".join(f"s{n}: {each}" for n in range(30)) + " }")
    error = result.error("BAD_USER_INPUT")
    assert error["extensions"]["cost"] > MAX_COST


async def test_an_excessive_subscription_document_is_refused_over_the_socket(
    client: GraphQLClient,
) -> None:
    owner, channel = await owner_with_channel(client)
    reactors = 'reactors(emoji: {unicode: "x"}, first: 100) { edges { node { id } } }'
    messages = " ".join(f"m{n}: message {{ {reactors} }}" for n in range(30))
    document = (
        "subscription($c: ID!) { channelEvents(channelId: $c) { "
        f"... on MessageCreated {{ {messages} }} }} }}"
    )
    async with ws_connect(client.ws_url, payload={"authorization": owner.token}) as ws:
        op = await ws.subscribe(document, {"c": channel})
        message = await ws.receive(op)
        assert message["type"] == "error"
        [error] = message["payload"]
        # The event + 30 x (message + reactors + 100 x (edge + node)).
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "cost": 6061, "maxCost": MAX_COST}
        # The socket lives on, and over it an over-budget query is refused the same way.
        query = f"query($c: ID!) {{ {aliased(3, PAGE)} }}"
        op = await ws.subscribe(query, {"c": channel})
        result = await ws.receive(op)
        assert result["payload"]["data"] is None
        assert result["payload"]["errors"][0]["extensions"]["cost"] == 3 * PAGE_COST


async def test_only_the_costliest_branch_of_a_union_counts(client: GraphQLClient) -> None:
    owner, channel = await owner_with_channel(client)
    reactors = 'reactors(emoji: {unicode: "👍"}, first: 100) { edges { node { id } } }'
    created = " ".join(f"c{n}: message {{ id {reactors} }}" for n in range(15))
    updated = " ".join(f"u{n}: message {{ id {reactors} }}" for n in range(15))
    # Each branch: 15 x 202 = 3030; an event is one of them, so 3031 in all (summed: 6061).
    document = (
        "subscription($c: ID!) { channelEvents(channelId: $c) { "
        f"... on MessageCreated {{ {created} }} ... on MessageUpdated {{ {updated} }} }} }}"
    )
    async with ws_connect(client.ws_url, payload={"authorization": owner.token}) as ws:
        op = await ws.subscribe(document, {"c": channel})
        await owner.client.execute(
            'mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "hi"}) '
            "{ message { id } } }",
            {"c": channel},
        )
        message = await ws.receive(op)
    assert message["type"] == "next", message
    assert message["payload"]["data"]["channelEvents"]["c0"]["reactors"] == {"edges": []}


class TestCostRate:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"graphql_max_cost": 2500, "rate_cost_per_user": "3000/60"}

    async def test_a_user_who_spent_the_window_is_limited_and_told_when_to_retry(
        self, client: GraphQLClient
    ) -> None:
        owner, channel = await owner_with_channel(client)
        page = f"query($c: ID!) {{ channel(id: $c) {{ {PAGE} }} }}"
        (await owner.client.execute(page, {"c": channel})).ok()
        limited = await owner.client.execute(page, {"c": channel})
        error = limited.error("RATE_LIMITED")
        assert limited.data is None
        retry = error["extensions"]["retryAfterSeconds"]
        assert isinstance(retry, int) and 1 <= retry <= 60
        assert error["extensions"]["cost"] == PAGE_COST
        # The refused operation spent nothing: a cheap one still fits in the window.
        assert (await owner.client.execute("{ me { id } }")).ok() == {"me": {"id": owner.id}}
        # Each user has a window of their own.
        other, other_channel = await owner_with_channel(client)
        (await other.client.execute(page, {"c": other_channel})).ok()

    async def test_subscribing_over_the_socket_spends_from_the_same_window(
        self, client: GraphQLClient
    ) -> None:
        owner, channel = await owner_with_channel(client)
        page = f"query($c: ID!) {{ channel(id: $c) {{ {PAGE} }} }}"
        (await owner.client.execute(page, {"c": channel})).ok()
        reactors = 'reactors(emoji: {unicode: "x"}, first: 100) { edges { node { id } } }'
        document = (
            "subscription($c: ID!) { channelEvents(channelId: $c) { "
            f"... on MessageCreated {{ a: message {{ {reactors} }} b: message {{ {reactors} }} "
            f"c: message {{ {reactors} }} d: message {{ {reactors} }} }} }} }}"
        )
        async with ws_connect(client.ws_url, payload={"authorization": owner.token}) as ws:
            op = await ws.subscribe(document, {"c": channel})
            message = await ws.receive(op)
        assert message["type"] == "error"
        [error] = message["payload"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["cost"] == 1 + 4 * 202


async def test_a_size_set_on_an_interface_field_counts_on_its_implementations(
    client: GraphQLClient,
) -> None:
    owner, _ = await owner_with_channel(client)
    # 50 pins per text channel, 20 channels per guild, 20 guilds: 1 + 20 x (1 + 20 x 51).
    document = "{ me { guilds { channels { ... on TextChannel { pins { id } } } } } }"
    refused_for_cost(await owner.client.execute(document), 20421)
