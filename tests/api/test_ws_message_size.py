"""One size limit, GOCHAT_REQUEST_MAX_BYTES, for HTTP bodies and WebSocket messages: a bigger
message closes the socket with 1009 (message too big), on either protocol, compressed or not,
and the server lives on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import make_settings
from tests.support.client import GraphQLClient, close_code
from tests.support.server import run_server

LIMIT = 4096
PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"request_max_bytes": LIMIT}


def message_of(size: int, protocol: str) -> str:
    """A valid subscribe (or legacy start) message of exactly `size` bytes."""
    kind = "subscribe" if protocol == "graphql-transport-ws" else "start"

    def build(padding: int) -> str:
        query = "{ __typename }" + " " * padding
        return json.dumps({"id": "1", "type": kind, "payload": {"query": query}})

    bare = len(build(0).encode())
    message = build(size - bare)
    assert len(message.encode()) == size
    return message


async def initialized(url: str, protocol: str, *, compress: bool = False) -> Any:
    socket = await websockets.connect(
        url,
        subprotocols=[protocol],  # type: ignore[list-item]
        compression="deflate" if compress else None,
        max_size=None,
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "connection_ack"
    return socket


async def answered(socket: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message.get("id") == "1":
                return message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_message_at_the_limit_runs_and_one_byte_more_closes_1009(
    client: GraphQLClient, protocol: str
) -> None:
    socket = await initialized(client.ws_url, protocol)
    async with socket:
        await socket.send(message_of(LIMIT, protocol))
        answer = await answered(socket)
        assert answer["payload"] == {"data": {"__typename": "Query"}}, answer
        await socket.send(message_of(LIMIT + 1, protocol))
        assert await close_code(socket) == 1009
    assert (await client.execute("{ __typename }")).ok() == {"__typename": "Query"}


async def test_an_http_body_over_the_same_limit_is_refused_413(client: GraphQLClient) -> None:
    body = message_of(LIMIT + 1, "graphql-transport-ws")
    response = await client.http.post(
        f"{client.base_url}/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


class TestCompressed:
    """With permessage-deflate, the limit applies to the message, not to its compressed
    frames: a few hundred bytes on the wire that inflate past it are refused too."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"request_max_bytes": LIMIT, "ws_per_message_deflate": True}

    @pytest.mark.parametrize("protocol", PROTOCOLS)
    async def test_a_message_that_inflates_past_the_limit_closes_1009(
        self, client: GraphQLClient, protocol: str
    ) -> None:
        socket = await initialized(client.ws_url, protocol, compress=True)
        async with socket:
            assert socket.protocol.extensions, "permessage-deflate was not negotiated"
            await socket.send(message_of(LIMIT, protocol))
            assert (await answered(socket))["payload"] == {"data": {"__typename": "Query"}}
            await socket.send(message_of(LIMIT * 4, protocol))
            assert await close_code(socket) == 1009


@pytest.fixture
async def lenient_server(database_url: str, tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    """The app behind a server that lets any message size through (uvicorn's own limit far
    above ours), as another ASGI server might."""
    settings = make_settings(database_url, tmp_path / "data", request_max_bytes=LIMIT)
    async with (
        run_server(settings, ws_max_size=16 * 1024 * 1024) as running,
        httpx.AsyncClient(timeout=30) as http,
    ):
        yield GraphQLClient(running.url, http)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_app_enforces_the_limit_when_its_server_does_not(
    lenient_server: GraphQLClient, protocol: str
) -> None:
    socket = await initialized(lenient_server.ws_url, protocol)
    async with socket:
        await socket.send(message_of(LIMIT + 1, protocol))
        assert await close_code(socket) == 1009
