"""What every client meets before any business rule: limits, bad bodies, error shape,
introspection, GraphiQL, health and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.server import RunningServer


class TestLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {
            "graphql_max_depth": 3,
            "graphql_max_tokens": 60,
            "graphql_max_aliases": 2,
            "request_max_bytes": 2048,
        }

    async def test_too_deep_query_is_refused_before_execution(self, client: GraphQLClient) -> None:
        user = await signed_up(client)
        deep = "{ me { guilds { channels { overwrites { channelId } } } } }"
        (await user.client.execute(deep)).error("BAD_USER_INPUT")

    async def test_too_many_tokens_is_refused(self, client: GraphQLClient) -> None:
        fields = " ".join("__typename" for _ in range(80))
        (await client.execute("{ " + fields + " }")).error("BAD_USER_INPUT")

    async def test_too_many_aliases_is_refused(self, client: GraphQLClient) -> None:
        (await client.execute("{ a: __typename b: __typename c: __typename }")).error(
            "BAD_USER_INPUT"
        )

    async def test_oversized_body_gets_413_with_a_graphql_error(
        self, server: RunningServer
    ) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{server.url}/graphql", json={"query": "{ __typename }", "pad": "x" * 5000}
            )
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def test_oversized_body_without_length_header_is_refused_too(
        self, server: RunningServer
    ) -> None:
        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b'{"query": "{ __typename }", "pad": "' + b"x" * 500
            yield b'"}'

        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{server.url}/graphql",
                content=chunks(),
                headers={"content-type": "application/json"},
            )
        assert response.status_code == 413


async def test_garbage_json_is_a_400_with_a_graphql_error(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.url}/graphql",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_field_is_bad_user_input(client: GraphQLClient) -> None:
    error = (await client.execute("{ nothingHere }")).error("BAD_USER_INPUT")
    assert "nothingHere" in error["message"]


async def test_syntax_error_is_bad_user_input(client: GraphQLClient) -> None:
    (await client.execute("{ me { ")).error("BAD_USER_INPUT")


async def test_errors_carry_no_internals(client: GraphQLClient) -> None:
    error = (await client.execute("{ me { id } }")).error("UNAUTHENTICATED")
    assert set(error) <= {"message", "locations", "path", "extensions"}
    assert "Traceback" not in str(error)


async def test_introspection_is_on_by_default(client: GraphQLClient) -> None:
    data = (await client.execute("{ __schema { queryType { name } } }")).ok()
    assert data["__schema"]["queryType"]["name"] == "Query"


class TestIntrospectionOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"graphql_introspection": False}

    async def test_introspection_can_be_turned_off(self, client: GraphQLClient) -> None:
        refused = await client.execute("{ __schema { queryType { name } } }")
        assert refused.data is None and refused.codes and set(refused.codes) == {"BAD_USER_INPUT"}
        assert (await client.execute("{ __typename }")).ok() == {"__typename": "Query"}


async def test_graphiql_is_served_to_browsers(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        page = await http.get(f"{server.url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_queries_work_over_get(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.url}/graphql", params={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_health_ready_and_request_ids(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{server.url}/health")
        ready = await http.get(f"{server.url}/ready")
        echoed = await http.post(
            f"{server.url}/graphql",
            json={"query": "{ __typename }"},
            headers={"x-request-id": "abc-123"},
        )
        generated = await http.post(f"{server.url}/graphql", json={"query": "{ __typename }"})
    assert health.json() == {"status": "ok"}
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ready", body
    # The embedded defaults: the SQL database (messages included) and blobs on local disk.
    assert set(body["checks"]) == {"sql", "blobs"}, body
    for check in body["checks"].values():
        assert check["ok"] is True and check["error"] is None and check["latencyMs"] >= 0
    assert echoed.headers["x-request-id"] == "abc-123"
    assert len(generated.headers["x-request-id"]) == 32


async def test_ready_reports_unavailable_storage(server: RunningServer) -> None:
    store = server.services.store
    engines = store.engines  # type: ignore[attr-defined]
    # Point the read pool at a database that cannot be opened.
    from gochat.storage.sql.engine import create_engines

    broken = create_engines("sqlite+aiosqlite:////nonexistent-dir/x.db")
    store.engines = broken  # type: ignore[attr-defined]
    try:
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"{server.url}/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable", body
        assert body["checks"]["sql"]["ok"] is False and body["checks"]["sql"]["error"], body
        assert body["checks"]["blobs"]["ok"] is True, body
    finally:
        store.engines = engines  # type: ignore[attr-defined]
        await broken.dispose()


async def test_an_unexpected_failure_is_internal_with_a_request_id_and_no_internals(
    client: GraphQLClient, server: RunningServer
) -> None:
    from sqlalchemy import text

    user = await signed_up(client)
    # Fault injection: the settings table disappears under the running server.
    async with server.services.store.engines.write.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(text("DROP TABLE user_settings"))
    result = await user.client.execute(
        "{ me { settings { version } } }", headers={"x-request-id": "req-42"}
    )
    error = result.error("INTERNAL")
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "user_settings" not in error["message"] and "sqlalchemy" not in str(result.body).lower()


class TestConnectionPoolExhaustion:
    """PostgreSQL's pool is fixed: a request waits for a free connection, and past the pool
    timeout gets UNAVAILABLE (retryable) with its request id, never INTERNAL."""

    @pytest.fixture
    def backend(self) -> str:
        return "postgresql"

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"database_pool_size": 2, "database_pool_timeout_seconds": 0.5}

    async def test_a_request_waits_for_a_connection_to_become_free(
        self, client: GraphQLClient, server: RunningServer
    ) -> None:
        user = await signed_up(client)
        engine = server.services.store.engines.write  # type: ignore[attr-defined]
        held = [await engine.connect() for _ in range(2)]

        async def release_soon() -> None:
            await asyncio.sleep(0.1)
            for conn in held:
                await conn.close()

        release = asyncio.create_task(release_soon())
        result = await user.client.execute("{ me { id handle } }")
        await release
        assert result.errors == [] and result.data["me"]["handle"] == user.handle

    async def test_no_free_connection_within_the_timeout_is_unavailable(
        self, client: GraphQLClient, server: RunningServer
    ) -> None:
        user = await signed_up(client)
        engine = server.services.store.engines.write  # type: ignore[attr-defined]
        held = [await engine.connect() for _ in range(2)]
        try:
            result = await user.client.execute(
                "{ me { id handle } }", headers={"x-request-id": "req-pool"}
            )
        finally:
            for conn in held:
                await conn.close()
        error = result.error("UNAVAILABLE")
        assert error["extensions"] == {"code": "UNAVAILABLE", "requestId": "req-pool"}
        assert "QueuePool" not in str(result.body)
        again = await user.client.execute("{ me { id handle } }")
        assert again.errors == []
