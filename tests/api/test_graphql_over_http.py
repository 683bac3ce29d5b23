"""The GraphQL-over-HTTP specification as a client meets it: media type negotiation, status
codes, no `data` entry on request errors, GET only for queries, and what is not HTTP at all
(subscriptions)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import structlog

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.server import RunningServer

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(
    server: RunningServer, body: Any, *, accept: str | None = None, token: str | None = None
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["accept"] = accept
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{server.url}/graphql", json=body, headers=headers)


def only_error(response: httpx.Response, code: str = "BAD_USER_INPUT") -> dict[str, Any]:
    body = response.json()
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body
    error: dict[str, Any] = body["errors"][0]
    return error


class TestGraphQLResponseJson:
    async def test_parse_error_is_400_without_data(self, server: RunningServer) -> None:
        response = await post(server, {"query": "{ me { "}, accept=GRAPHQL_RESPONSE)
        assert response.status_code == 400
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        only_error(response)

    async def test_validation_error_is_400_without_data(self, server: RunningServer) -> None:
        response = await post(server, {"query": "{ nothingHere }"}, accept=GRAPHQL_RESPONSE)
        assert response.status_code == 400
        assert "nothingHere" in only_error(response)["message"]

    async def test_variable_coercion_error_is_400_without_data(self, server: RunningServer) -> None:
        response = await post(
            server,
            {"query": "query($id: ID!) { guild(id: $id) { id } }", "variables": {}},
            accept=GRAPHQL_RESPONSE,
        )
        assert response.status_code == 400
        only_error(response)

    async def test_field_error_is_200_with_data(self, server: RunningServer) -> None:
        response = await post(server, {"query": "{ me { id } }"}, accept=GRAPHQL_RESPONSE)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        body = response.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]

    async def test_success_is_200(self, server: RunningServer) -> None:
        response = await post(
            server,
            {"query": "{ __typename }"},
            accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9",
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert response.json() == {"data": {"__typename": "Query"}}


class TestLegacyJson:
    async def test_request_error_is_200_without_data(self, server: RunningServer) -> None:
        response = await post(server, {"query": "{ me { "}, accept="application/json")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        only_error(response)

    async def test_a_wildcard_gets_application_json(self, server: RunningServer) -> None:
        response = await post(server, {"query": "{ nothingHere }"}, accept="*/*")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        only_error(response)


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (f"application/json, {GRAPHQL_RESPONSE}", "application/json"),
        (f"{GRAPHQL_RESPONSE}, application/json", GRAPHQL_RESPONSE),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE};q=0.9", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, application/json", "application/json"),
        (f"*/*, {GRAPHQL_RESPONSE};q=0.1", "application/json"),
        (f"text/html;q=0.9, {GRAPHQL_RESPONSE};q=0.8", GRAPHQL_RESPONSE),
        ("application/*", "application/json"),
    ],
)
async def test_the_highest_ranked_supported_type_wins(
    server: RunningServer, accept: str, media_type: str
) -> None:
    response = await post(server, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"


async def test_no_accept_header_means_graphql_response_json(server: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        del http.headers["accept"]
        response = await http.post(f"{server.url}/graphql", json={"query": "{ nothingHere }"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    only_error(response)


async def test_an_accept_header_without_a_supported_type_gets_406(
    server: RunningServer, client: GraphQLClient
) -> None:
    user = await signed_up(client)
    response = await post(
        server,
        {"query": 'mutation { updateProfile(input: {displayName: "Changed"}) { user { id } } }'},
        accept="text/plain, application/xml",
        token=user.token,
    )
    assert response.status_code == 406
    only_error(response)
    me = (await user.client.execute("{ me { displayName } }")).ok()
    assert me["me"]["displayName"] != "Changed"


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
async def test_get_refuses_a_mutation_with_405(server: RunningServer, accept: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{server.url}/graphql",
            params={"query": "mutation { logout { __typename } }"},
            headers={"accept": accept},
        )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    only_error(response)


async def test_get_runs_queries(server: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{server.url}/graphql",
            params={"query": "{ __typename }"},
            headers={"accept": GRAPHQL_RESPONSE},
        )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "query",
    [
        "subscription { events { __typename } }",
        "subscription S { presence(userIds: []) { __typename } }",
    ],
)
async def test_subscription_over_http_is_a_clear_client_error(
    server: RunningServer, client: GraphQLClient, query: str
) -> None:
    user = await signed_up(client)
    with structlog.testing.capture_logs() as logs:
        response = await post(server, {"query": query}, token=user.token)
    assert response.status_code == 400
    assert "WebSocket" in only_error(response)["message"]
    assert not [e for e in logs if e["log_level"] in {"error", "critical"}], logs


async def test_several_operations_without_a_name_is_an_error(server: RunningServer) -> None:
    query = "query A { __typename } query B { me { id } }"
    refused = await post(server, {"query": query})
    assert only_error(refused)["extensions"]["field"] == "operationName"
    strict = await post(server, {"query": query}, accept=GRAPHQL_RESPONSE)
    assert strict.status_code == 400
    only_error(strict)
    chosen = await post(server, {"query": query, "operationName": "A"})
    assert chosen.json() == {"data": {"__typename": "Query"}}


async def test_one_anonymous_operation_needs_no_name(server: RunningServer) -> None:
    response = await post(server, {"query": "{ __typename }", "operationName": None})
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "body",
    [b'"hello"', b"42", b"null", b"true", b"\xff\xfe{\x00", b'{"query": "{ __typename }"\xff}'],
)
async def test_bodies_that_are_not_a_json_object_get_400(
    server: RunningServer, body: bytes
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{server.url}/graphql", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    only_error(response)


class TestRefusedBeforeExecution:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"graphql_max_cost": 1000, "rate_cost_per_user": "1000/60"}

    async def test_a_cost_rate_refusal_is_429_with_retry_after(
        self, server: RunningServer, client: GraphQLClient
    ) -> None:
        user = await signed_up(client)
        query = {"query": "{ me { guilds { id } } }"}
        statuses = []
        for _ in range(200):
            response = await post(server, query, accept=GRAPHQL_RESPONSE, token=user.token)
            statuses.append(response.status_code)
            if response.status_code != 200:
                break
        assert statuses[-1] == 429, statuses
        assert only_error(response, "RATE_LIMITED")
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # Under application/json the same refusal is a 200 with the error.
        legacy = await post(server, query, accept="application/json", token=user.token)
        assert legacy.status_code == 200
        only_error(legacy, "RATE_LIMITED")
