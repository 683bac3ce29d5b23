"""Ending a session ends its sockets: logout, logout everywhere, a replayed refresh token and a
password reset close every socket opened with the session (4401) at once, after the `events`
stream has said why; a password change spares the caller's own session. What a socket sends
after its session ended is refused, even before the close reaches it."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import websockets
from sqlalchemy import update

from gochat.storage.sql.tables import sessions
from tests.support.client import GraphQLClient, WsSession, close_code, ws_connect
from tests.support.factories import PASSWORD, SignedUpUser, login, signed_up
from tests.support.guilds import make_world
from tests.support.server import RunningServer

EVENTS = """subscription { events { __typename
  ... on SessionRevoked { sessionId }
  ... on UserUpdated { user { displayName } } } }"""
ME = "{ me { id } }"
REFRESH = """mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
  session { refreshToken } } }"""
CHANGE = """mutation($c: String!, $n: String!) {
  changePassword(input: {currentPassword: $c, newPassword: $n}) { ok } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
HISTORY = (
    "query($c: ID!) { channel(id: $c) { ... on TextChannel { "
    "messages(last: 50) { edges { node { content } } } } } }"
)
OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"
CHANNEL_EVENTS = "subscription($c: ID!) { channelEvents(channelId: $c) { __typename } }"


async def listening(ws: WsSession, query: str = EVENTS) -> str:
    """Subscribe, then wait until the subscription listens: a socket handles its messages in
    order, so once a query sent after it is answered, the subscription is registered."""
    op_id = await ws.subscribe(query)
    probe = await ws.subscribe(ME)
    assert (await ws.receive(probe))["type"] == "next"
    assert (await ws.receive(probe))["type"] == "complete"
    return op_id


async def still_open(ws: WsSession, user_id: str) -> None:
    probe = await ws.subscribe(ME)
    answer = await ws.receive(probe)
    assert answer["payload"] == {"data": {"me": {"id": user_id}}}, answer


async def told_revoked(ws: WsSession, op_id: str, session_id: str | None) -> None:
    """The `events` stream delivers SessionRevoked and completes; then the socket closes 4401."""
    revoked = await ws.receive(op_id)
    assert revoked["type"] == "next", revoked
    assert revoked["payload"]["data"]["events"] == {
        "__typename": "SessionRevoked",
        "sessionId": session_id,
    }
    assert (await ws.receive(op_id))["type"] == "complete"
    assert await close_code(ws.socket) == 4401


def socket_of(user: SignedUpUser | dict[str, str]) -> Any:
    token = user.token if isinstance(user, SignedUpUser) else user["accessToken"]
    return {"authorization": f"Bearer {token}"}


async def test_logout_closes_every_socket_of_that_session_and_no_other(
    client: GraphQLClient,
) -> None:
    alice = await signed_up(client)
    other = await login(client, alice.email)
    async with (
        ws_connect(client.ws_url, payload=socket_of(alice)) as streaming,
        ws_connect(client.ws_url, payload=socket_of(alice)) as idle,
        ws_connect(client.ws_url, payload=socket_of(other)) as elsewhere,
    ):
        op_id = await listening(streaming)
        (await alice.client.execute("mutation { logout { ok } }")).ok()
        await told_revoked(streaming, op_id, alice.session_id)
        assert await close_code(idle.socket) == 4401
        await still_open(elsewhere, alice.id)


async def test_logout_of_every_session_closes_all_their_sockets(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    other = await login(client, alice.email)
    async with (
        ws_connect(client.ws_url, payload=socket_of(alice)) as first,
        ws_connect(client.ws_url, payload=socket_of(other)) as second,
    ):
        op_id = await listening(second)
        (await alice.client.execute("mutation { logoutAllSessions { revokedSessions } }")).ok()
        assert await close_code(first.socket) == 4401
        await told_revoked(second, op_id, None)


async def test_replaying_a_rotated_refresh_token_closes_the_sessions_sockets(
    client: GraphQLClient,
) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload=socket_of(alice)) as ws:
        op_id = await listening(ws)
        (await client.execute(REFRESH, {"t": alice.refresh_token})).ok()
        (await client.execute(REFRESH, {"t": alice.refresh_token})).error("UNAUTHENTICATED")
        await told_revoked(ws, op_id, alice.session_id)


async def test_a_password_reset_closes_every_socket_of_the_account(
    client: GraphQLClient, server: RunningServer
) -> None:
    from tests.api.test_sessions import RESET, RESET_REQUEST, reset_token

    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload=socket_of(alice)) as ws:
        op_id = await listening(ws)
        (await client.execute(RESET_REQUEST, {"e": alice.email})).ok()
        token = reset_token(server, alice.email)
        (await client.execute(RESET, {"t": token, "p": "a brand new password"})).ok()
        await told_revoked(ws, op_id, None)


async def test_a_password_change_closes_the_other_sessions_sockets_and_keeps_its_own(
    client: GraphQLClient,
) -> None:
    alice = await signed_up(client)
    other = await login(client, alice.email)
    async with (
        ws_connect(client.ws_url, payload=socket_of(alice)) as own,
        ws_connect(client.ws_url, payload=socket_of(other)) as elsewhere,
    ):
        own_events = await listening(own)
        other_events = await listening(elsewhere)
        changed = await alice.client.execute(CHANGE, {"c": PASSWORD, "n": "a new password 1"})
        changed.ok()
        await told_revoked(elsewhere, other_events, None)
        await still_open(own, alice.id)
        # The caller's own stream goes on, with nothing about a revocation in it.
        (
            await alice.client.execute(
                'mutation { updateProfile(input: {displayName: "Kept"}) { user { id } } }'
            )
        ).ok()
        event = await own.receive(own_events)
        assert event["payload"]["data"]["events"] == {
            "__typename": "UserUpdated",
            "user": {"displayName": "Kept"},
        }


async def test_a_message_sent_over_the_socket_right_after_logout_is_not_stored(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    member = world.member
    async with ws_connect(client.ws_url, payload=socket_of(member)) as ws:
        await still_open(ws, member.id)
        (await member.client.execute("mutation { logout { ok } }")).ok()
        # Whether the close has reached the socket yet or not, the send goes nowhere.
        op_id = None
        with contextlib.suppress(websockets.ConnectionClosed):
            op_id = await ws.subscribe(SEND, {"c": world.text_id, "t": "after logout"})
        seen: list[dict[str, Any]] = []
        assert await close_code(ws.socket, seen=seen) == 4401
        assert not [m for m in seen if op_id is not None and m.get("id") == op_id], seen
    history = (await world.owner.client.execute(HISTORY, {"c": world.text_id})).ok()
    contents = [e["node"]["content"] for e in history["channel"]["messages"]["edges"]]
    assert "after logout" not in contents


async def test_the_legacy_protocol_socket_closes_4401_on_logout(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    async with websockets.connect(client.ws_url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": alice.token}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        (await alice.client.execute("mutation { logout { ok } }")).ok()
        assert await close_code(socket) == 4401


class TestSessionEndedElsewhere:
    """A session ended by another process whose event has not arrived here (the row changed,
    nothing was published): the socket's next operation finds out and is refused."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"session_cache_seconds": 0}

    @staticmethod
    async def end_quietly(server: RunningServer, user: SignedUpUser) -> None:
        engine = server.services.store.engines.write  # type: ignore[attr-defined]
        async with engine.begin() as conn:
            await conn.execute(
                update(sessions)
                .where(sessions.c.id == int(user.session_id))
                .values(revoked_at=sessions.c.created_at)
            )

    async def test_a_mutation_over_the_socket_is_refused_and_not_stored(
        self, client: GraphQLClient, server: RunningServer
    ) -> None:
        world = await make_world(client)
        async with ws_connect(client.ws_url, payload=socket_of(world.member)) as ws:
            await still_open(ws, world.member.id)
            await self.end_quietly(server, world.member)
            op_id = await ws.subscribe(SEND, {"c": world.text_id, "t": "from a dead session"})
            seen: list[dict[str, Any]] = []
            assert await close_code(ws.socket, seen=seen) == 4401
            assert not [m for m in seen if m.get("id") == op_id], seen
        history = (await world.owner.client.execute(HISTORY, {"c": world.text_id})).ok()
        contents = [e["node"]["content"] for e in history["channel"]["messages"]["edges"]]
        assert "from a dead session" not in contents

    async def test_a_new_subscription_over_the_socket_receives_no_direct_message(
        self, client: GraphQLClient, server: RunningServer
    ) -> None:
        alice = await signed_up(client)
        bob = await signed_up(client)
        dm = (await bob.client.execute(OPEN_DM, {"u": alice.id})).ok()
        channel_id = dm["openDirectMessage"]["channel"]["id"]
        async with ws_connect(client.ws_url, payload=socket_of(alice)) as ws:
            await still_open(ws, alice.id)
            await self.end_quietly(server, alice)
            op_id = await ws.subscribe(CHANNEL_EVENTS, {"c": channel_id})
            (await bob.client.execute(SEND, {"c": channel_id, "t": "private"})).ok()
            seen: list[dict[str, Any]] = []
            assert await close_code(ws.socket, seen=seen) == 4401
            assert not [m for m in seen if m.get("id") == op_id], seen
