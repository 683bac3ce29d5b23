"""Ending a session through one process closes its sockets on the other, through NATS, and the
other refuses what those sockets send before the close reaches them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from tests.api.test_ws_sessions import listening, told_revoked
from tests.support.client import close_code, ws_connect
from tests.support.cluster import Cluster
from tests.support.engines import NatsServer
from tests.support.factories import login, signed_up
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(60)

SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
HISTORY = (
    "query($c: ID!) { channel(id: $c) { ... on TextChannel { "
    "messages(last: 50) { edges { node { content } } } } } }"
)


def bearer(token: str) -> dict[str, Any]:
    return {"authorization": f"Bearer {token}"}


async def test_logout_through_one_process_closes_the_sockets_on_the_other(
    cluster: Cluster,
) -> None:
    # B trusts a session it read for a minute, unless it hears that the session ended.
    a, b = await cluster.start(2, session_cache_seconds="60")
    async with httpx.AsyncClient(timeout=30) as http:
        alice = await signed_up(a.client(http))
        other = await login(a.client(http), alice.email)
        async with (
            ws_connect(b.ws_url, payload=bearer(alice.token)) as on_b,
            ws_connect(a.ws_url, payload=bearer(alice.token)) as on_a,
            ws_connect(b.ws_url, payload=bearer(other["accessToken"])) as other_on_b,
        ):
            events_on_b = await listening(on_b)
            (await a.client(http, alice.token).execute("mutation { logout { ok } }")).ok()
            # The stream on B says why, then B closes the socket.
            await told_revoked(on_b, events_on_b, alice.session_id)
            assert await close_code(on_a.socket) == 4401
            # B heard it: HTTP requests with the session's token stop there too.
            (await b.client(http, alice.token).execute("{ me { id } }")).error("UNAUTHENTICATED")
            # The other session's socket on B is untouched.
            probe = await other_on_b.subscribe("{ me { id } }")
            answer = await other_on_b.receive(probe)
            assert answer["payload"] == {"data": {"me": {"id": alice.id}}}


async def test_logout_everywhere_through_one_process_closes_every_socket_on_the_other(
    cluster: Cluster,
) -> None:
    a, b = await cluster.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        alice = await signed_up(a.client(http))
        other = await login(a.client(http), alice.email)
        async with (
            ws_connect(b.ws_url, payload=bearer(alice.token)) as first,
            ws_connect(b.ws_url, payload=bearer(other["accessToken"])) as second,
        ):
            logout_all = "mutation { logoutAllSessions { revokedSessions } }"
            (await a.client(http, alice.token).execute(logout_all)).ok()
            assert await close_code(first.socket) == 4401
            assert await close_code(second.socket) == 4401


async def test_a_message_sent_over_the_other_processs_socket_after_logout_is_not_stored(
    cluster: Cluster,
) -> None:
    # Sessions are read on every operation here, so what is checked does not depend on
    # whether the revocation reached B before the send did.
    a, b = await cluster.start(2, session_cache_seconds="0")
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        async with ws_connect(b.ws_url, payload=bearer(world.member.token)) as on_b:
            probe = await on_b.subscribe("{ me { id } }")
            assert (await on_b.receive(probe))["type"] == "next"
            (await a.client(http, world.member.token).execute("mutation { logout { ok } }")).ok()
            op_id = None
            with contextlib.suppress(websockets.ConnectionClosed):
                op_id = await on_b.subscribe(SEND, {"c": world.text_id, "t": "after logout"})
            seen: list[dict[str, Any]] = []
            assert await close_code(on_b.socket, seen=seen) == 4401
            assert not [m for m in seen if op_id is not None and m.get("id") == op_id], seen
        history = await b.client(http, world.owner.token).execute(HISTORY, {"c": world.text_id})
        edges = history.ok()["channel"]["messages"]["edges"]
        assert "after logout" not in [e["node"]["content"] for e in edges]


@pytest.mark.timeout(90)
async def test_a_session_that_ended_while_the_bus_was_away_closes_its_sockets_once_it_is_back(
    cluster_on_own_nats: Cluster, own_nats: NatsServer
) -> None:
    (a,) = await cluster_on_own_nats.start(1)
    async with httpx.AsyncClient(timeout=30) as http:
        alice = await signed_up(a.client(http))
        async with ws_connect(a.ws_url, payload=bearer(alice.token)) as ws:
            await asyncio.to_thread(own_nats.stop)
            # Ended with no event at all (as by a process whose publish never happened): the
            # process reads its sockets' sessions again once it is back on the bus.
            conn = await asyncpg.connect(cluster_on_own_nats.database_url)
            try:
                await conn.execute(
                    "UPDATE sessions SET revoked_at = created_at WHERE id = $1",
                    int(alice.session_id),
                )
            finally:
                await conn.close()
            await asyncio.to_thread(own_nats.start)
            # Client reconnect backoff is jittered, up to 5 s.
            assert await close_code(ws.socket, timeout=20) == 4401
