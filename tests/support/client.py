"""A small typed GraphQL client over real HTTP, and a graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets


@dataclass
class Result:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, f"unexpected errors: {self.errors}"
        assert self.status == 200, self.status
        return self.data

    def error(self, code: str) -> dict[str, Any]:
        """Assert exactly one error, with this code; return it."""
        assert len(self.errors) == 1, f"expected one {code} error, got {self.body}"
        assert self.codes == [code], f"expected {code}, got {self.body}"
        return self.errors[0]


@dataclass
class GraphQLClient:
    base_url: str
    http: httpx.AsyncClient
    token: str | None = None

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        sent = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            sent["authorization"] = f"Bearer {bearer}"
        response = await self.http.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=sent,
        )
        return Result(response.status_code, response.json())

    def as_user(self, token: str) -> GraphQLClient:
        return GraphQLClient(self.base_url, self.http, token)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"


@dataclass
class WsSession:
    socket: Any
    next_id: int = 0
    buffered: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self.next_id += 1
        op_id = str(self.next_id)
        await self.socket.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return op_id

    async def receive(self, op_id: str, *, timeout: float = 15.0) -> dict[str, Any]:
        """The next message (next, error or complete) for one operation."""
        queued = self.buffered.get(op_id)
        if queued:
            return queued.pop(0)
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.socket.recv())
                if message.get("type") in {"ping", "pong"}:
                    continue
                if message.get("id") == op_id:
                    return message
                self.buffered.setdefault(message.get("id", ""), []).append(message)

    async def barrier(self, *, timeout: float = 15.0) -> None:
        """Ping and wait for the pong. The server handles a socket's messages in order and
        attaches a subscription to its hub before reading the next one, so every subscription
        sent before this is listening when it returns (shared fan-out; not the legacy
        protocol, which has no ping)."""
        await self.socket.send(json.dumps({"type": "ping"}))
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.socket.recv())
                if message.get("type") == "pong":
                    return
                if message.get("type") != "ping":
                    self.buffered.setdefault(message.get("id", ""), []).append(message)

    async def expect_silence(self, op_id: str, *, seconds: float = 0.3) -> None:
        try:
            message = await self.receive(op_id, timeout=seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing, got {message}")


@asynccontextmanager
async def ws_connect(
    url: str, *, payload: dict[str, Any] | None = None, protocol: str = "graphql-transport-ws"
) -> AsyncIterator[WsSession]:
    async with websockets.connect(url, subprotocols=[protocol]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        yield WsSession(socket)


async def close_code(
    socket: Any, *, timeout: float = 5.0, seen: list[dict[str, Any]] | None = None
) -> int:
    """Read whatever arrives until the server closes the socket (into `seen` when given); the
    close code. TimeoutError when it stays open for `timeout` seconds."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                message = await socket.recv()
                if seen is not None:
                    seen.append(json.loads(message))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None, f"closed without a close frame: {closed}"
            return int(closed.rcvd.code)
