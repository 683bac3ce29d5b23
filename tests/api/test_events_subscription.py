"""The `events` subscription over graphql-transport-ws (and legacy graphql-ws)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up

EVENTS = """subscription { events {
  __typename
  ... on UserUpdated { user { id displayName } }
  ... on UserSettingsUpdated { settings { version data } }
  ... on SessionRevoked { sessionId }
} }"""


async def test_profile_and_settings_changes_arrive_over_the_socket(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": f"Bearer {alice.token}"}) as ws:
        op = await ws.subscribe(EVENTS)
        await ws.barrier()  # the subscription listens before the change
        (
            await alice.client.execute(
                'mutation { updateProfile(input: {displayName: "Alice B"}) { user { id } } }'
            )
        ).ok()
        (
            await alice.client.execute(
                "mutation($d: JSON!) { replaceSettings(input: {data: $d}) { settings { version } } }",
                {"d": {"theme": "dark"}},
            )
        ).ok()
        first = await ws.receive(op)
        second = await ws.receive(op)
    assert first["type"] == "next"
    assert first["payload"]["data"]["events"] == {
        "__typename": "UserUpdated",
        "user": {"id": alice.id, "displayName": "Alice B"},
    }
    assert second["payload"]["data"]["events"] == {
        "__typename": "UserSettingsUpdated",
        "settings": {"version": 1, "data": {"theme": "dark"}},
    }


async def test_other_users_changes_are_not_delivered(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        op = await ws.subscribe(EVENTS)
        await ws.barrier()
        (
            await bob.client.execute(
                'mutation { updateProfile(input: {displayName: "Bob"}) { user { id } } }'
            )
        ).ok()
        await ws.expect_silence(op)


async def test_logout_delivers_session_revoked_then_completes(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": alice.token}) as ws:
        op = await ws.subscribe(EVENTS)
        await ws.barrier()
        (await alice.client.execute("mutation { logout { ok } }")).ok()
        revoked = await ws.receive(op)
        done = await ws.receive(op)
    assert revoked["payload"]["data"]["events"] == {
        "__typename": "SessionRevoked",
        "sessionId": alice.session_id,
    }
    assert done["type"] == "complete"


async def test_invalid_token_in_connection_init_closes_the_socket(client: GraphQLClient) -> None:
    async with websockets.connect(client.ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer forged"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_anonymous_subscription_to_events_is_unauthenticated(client: GraphQLClient) -> None:
    async with ws_connect(client.ws_url) as ws:
        op = await ws.subscribe(EVENTS)
        message = await ws.receive(op)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


async def test_malformed_protocol_message_closes_the_socket_and_the_server_lives_on(
    client: GraphQLClient,
) -> None:
    async with websockets.connect(client.ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send("this is not json")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert (await client.execute("{ __typename }")).ok() == {"__typename": "Query"}


async def test_legacy_graphql_ws_protocol_round_trip(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    async with websockets.connect(client.ws_url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": alice.token}})
        )
        ack = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert ack["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "start", "payload": {"query": EVENTS}}))
        await asyncio.sleep(0.1)
        (
            await alice.client.execute(
                'mutation { updateProfile(input: {displayName: "Legacy"}) { user { id } } }'
            )
        ).ok()
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 5))
            if message["type"] != "ka":
                break
        assert message["type"] == "data"
        assert message["payload"]["data"]["events"]["user"]["displayName"] == "Legacy"
        await socket.send(json.dumps({"id": "1", "type": "stop"}))
