"""`gochat tools users disable|enable ID`: a disabled account loses its sessions, its open
sockets, its access tokens already issued and its refresh token, and cannot sign in, until it is
enabled again."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.conftest import make_settings
from tests.support.client import GraphQLClient, close_code, ws_connect
from tests.support.factories import LOGIN, PASSWORD, SignedUpUser, signed_up
from tests.support.server import run_server

ME = "{ me { id } }"
PROTOCOL: Any = "graphql-transport-ws"
REFRESH = """mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
  session { refreshToken } } }"""


def users(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochat", "tools", "users", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@asynccontextmanager
async def served(
    database_url: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[GraphQLClient, dict[str, str]]]:
    data = tmp_path / "data"
    settings = make_settings(database_url, data, **overrides)
    env = {
        "GOCHAT_DATABASE_URL": database_url,
        "GOCHAT_DATA_DIR": str(data),
        "GOCHAT_JWT_SECRET": settings.signing_secret(),
    }
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(server.url, http), env


async def signed_out_for_good(client: GraphQLClient, user: SignedUpUser) -> None:
    assert (await user.client.execute(ME)).codes == ["UNAUTHENTICATED"]
    refreshed = await client.execute(REFRESH, {"t": user.refresh_token})
    assert refreshed.codes == ["UNAUTHENTICATED"]
    login = await client.execute(LOGIN, {"input": {"email": user.email, "password": PASSWORD}})
    assert login.codes == ["UNAUTHENTICATED"]


async def test_disable_closes_sockets_and_refuses_every_path_until_enabled(
    database_url: str, tmp_path: Path
) -> None:
    # The CLI leaves its events in the outbox; the server's relay publishes them.
    fast_relay = {"outbox_relay_grace_seconds": 0.2, "outbox_relay_interval_seconds": 0.1}
    async with served(database_url, tmp_path, **fast_relay) as (client, env):
        alice = await signed_up(client)
        bob = await signed_up(client)
        payload = {"authorization": f"Bearer {alice.token}"}
        async with ws_connect(client.ws_url, payload=payload) as ws:
            done = await asyncio.to_thread(users, env, "disable", alice.id)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == f"user {alice.id} disabled"
            assert await close_code(ws.socket, timeout=30) == 4401
        await signed_out_for_good(client, alice)
        # A new socket with the old token is refused at connection_init.
        async with websockets.connect(client.ws_url, subprotocols=[PROTOCOL]) as socket:
            init = {"type": "connection_init", "payload": payload}
            await socket.send(json.dumps(init))
            assert await close_code(socket) == 4403
        assert (await bob.client.execute(ME)).ok()["me"]["id"] == bob.id

        enabled = await asyncio.to_thread(users, env, "enable", alice.id)
        assert enabled.returncode == 0, enabled.stderr
        login = await client.execute(LOGIN, {"input": {"email": alice.email, "password": PASSWORD}})
        assert login.ok()["login"]["session"]["accessToken"]
        # Sessions ended by the disable stay ended.
        assert (await alice.client.execute(ME)).codes == ["UNAUTHENTICATED"]


async def test_an_issued_access_token_fails_even_before_any_event_arrives(
    database_url: str, tmp_path: Path
) -> None:
    # No relay and no session cache: only the per-request check can refuse the token.
    quiet = {"outbox_relay_interval_seconds": 0, "session_cache_seconds": 0}
    async with served(database_url, tmp_path, **quiet) as (client, env):
        alice = await signed_up(client)
        assert (await alice.client.execute(ME)).ok()["me"]["id"] == alice.id
        done = await asyncio.to_thread(users, env, "disable", alice.id)
        assert done.returncode == 0, done.stderr
        await signed_out_for_good(client, alice)


async def test_unknown_and_malformed_ids_are_refused(database_url: str, tmp_path: Path) -> None:
    async with served(database_url, tmp_path) as (_, env):
        unknown = await asyncio.to_thread(users, env, "disable", "12345")
        assert unknown.returncode == 1
        assert unknown.stderr.strip() == "gochat: no such user: 12345"
        garbage = await asyncio.to_thread(users, env, "enable", "bob")
        assert garbage.returncode == 2
        assert garbage.stderr.strip() == "gochat: not a user id: 'bob'"
