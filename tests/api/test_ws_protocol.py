"""The WebSocket transport's protocol rules: init timeout, duplicate ids, limits, keep-alive,
token expiry, and queries over the socket."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
import pytest
import websockets

from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.server import RunningServer

EVENTS = "subscription { events { __typename } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "ws_connection_init_timeout_seconds": 0.5,
        "ws_max_subscriptions_per_connection": 2,
        "ws_keepalive_seconds": 0.3,
    }


async def closed_with(socket: Any) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None
    return int(closed.value.rcvd.code)


async def test_a_socket_that_never_sends_connection_init_is_closed_4408(
    client: GraphQLClient,
) -> None:
    async with websockets.connect(client.ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        assert await closed_with(socket) == 4408


async def test_subscribing_before_connection_init_is_closed_4401(client: GraphQLClient) -> None:
    async with websockets.connect(client.ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
        )
        assert await closed_with(socket) == 4401


async def test_a_second_connection_init_is_closed_4429(client: GraphQLClient) -> None:
    async with ws_connect(client.ws_url) as ws:
        await ws.socket.send(json.dumps({"type": "connection_init"}))
        assert await closed_with(ws.socket) == 4429


async def test_reusing_a_running_operation_id_is_closed_4409(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        await ws.socket.send(
            json.dumps({"id": "a", "type": "subscribe", "payload": {"query": EVENTS}})
        )
        await ws.socket.send(
            json.dumps({"id": "a", "type": "subscribe", "payload": {"query": EVENTS}})
        )
        assert await closed_with(ws.socket) == 4409


async def test_a_subscribe_without_a_query_is_closed_4400(client: GraphQLClient) -> None:
    async with ws_connect(client.ws_url) as ws:
        await ws.socket.send(json.dumps({"id": "a", "type": "subscribe", "payload": {}}))
        assert await closed_with(ws.socket) == 4400
    assert (await client.execute("{ __typename }")).ok() == {"__typename": "Query"}


async def test_operations_beyond_the_cap_get_an_error_and_the_others_live_on(
    client: GraphQLClient,
) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        first = await ws.subscribe(EVENTS)
        await ws.subscribe(EVENTS)
        third = await ws.subscribe(EVENTS)
        refused = await ws.receive(third)
        assert refused["type"] == "error"
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["RATE_LIMITED"]
        await asyncio.sleep(0.1)
        (
            await alice.client.execute(
                'mutation { updateProfile(input: {displayName: "Still here"}) { user { id } } }'
            )
        ).ok()
        delivered = await ws.receive(first)
    assert delivered["payload"]["data"]["events"]["__typename"] == "UserUpdated"


async def test_the_server_pings_and_answers_pings(client: GraphQLClient) -> None:
    async with ws_connect(client.ws_url) as ws:
        await ws.socket.send(json.dumps({"type": "ping"}))
        seen = set()
        async with asyncio.timeout(5):
            while seen != {"ping", "pong"}:
                seen.add(json.loads(await ws.socket.recv())["type"])


async def test_the_socket_closes_4401_when_its_access_token_expires(
    client: GraphQLClient, server: RunningServer
) -> None:
    alice = await signed_up(client)
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": server.settings.jwt_issuer,
            "aud": server.settings.jwt_audience,
            "sub": alice.id,
            "sid": alice.session_id,
            "typ": "access",
            "iat": now,
            "exp": now + 2,
        },
        server.settings.signing_secret(),
        algorithm="HS256",
    )
    async with ws_connect(client.ws_url, payload={"authorization": token}) as ws:
        await ws.subscribe(EVENTS)
        started = time.monotonic()
        assert await closed_with(ws.socket) == 4401
    assert time.monotonic() - started < 4


async def test_queries_and_mutations_run_over_the_socket(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        op = await ws.subscribe("{ me { id } }")
        result = await ws.receive(op)
        done = await ws.receive(op)
    assert result["payload"]["data"] == {"me": {"id": alice.id}}
    assert done["type"] == "complete"


async def test_an_invalid_subscription_document_gets_an_error_not_a_close(
    client: GraphQLClient,
) -> None:
    async with ws_connect(client.ws_url) as ws:
        op = await ws.subscribe("subscription { noSuchField }")
        message = await ws.receive(op)
    assert message["type"] == "error"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]
