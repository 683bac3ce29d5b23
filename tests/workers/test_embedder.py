"""The embedder handler, fed events directly, against the real server's stores and bus: a
linked page's embed is stored once and arrives live; replays, suppressed messages and the
default address policy do what they must."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from gochat.domain.events import MessageCreated, MessageUpdated
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.wiring import embedder_handler
from gochat.workers.embedder import EmbedderHandler
from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.factories import SignedUpUser, signed_up
from tests.support.guilds import create_guild
from tests.support.pages import Page, PageServer, page_server
from tests.support.server import RunningServer

PUBLIC = "127.0.0.2"
EVENT_IDS = SnowflakeGenerator(901)


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    # The server's own embedder stays off: these tests feed the handler themselves.
    values: dict[str, Any] = {"embedder_enabled": False}
    if request.param == "cql-messages":
        values["messages_url"] = request.getfixturevalue("cassandra_url")
    return values


PAGE = b"""<html><head><meta property="og:title" content="The Article">
<meta property="og:description" content="Worth reading"></head></html>"""
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
EDIT = """mutation($m: ID!, $t: String, $s: Boolean) {
  editMessage(input: {messageId: $m, content: $t, suppressEmbeds: $s}) { message { id } } }"""
READ = "query($m: ID!) { message(id: $m) { flags embeds { type title url } } }"
EVENTS = """subscription { events { __typename
  ... on MessageUpdated { message { id embeds { type title url description } } } } }"""
CHANNEL = """subscription($c: ID!) { channelEvents(channelId: $c) { __typename
  ... on MessageUpdated { message { id embeds { title } } } } }"""


async def _updated(ws: WsSession, op: str) -> dict[str, Any]:
    while True:
        message = await ws.receive(op)
        assert message["type"] == "next", message
        event = next(iter(message["payload"]["data"].values()))
        if event["__typename"] == "MessageUpdated":
            return dict(event["message"])


@asynccontextmanager
async def _world(
    client: GraphQLClient,
) -> AsyncIterator[tuple[SignedUpUser, str, PageServer]]:
    owner = await signed_up(client)
    channel = (await create_guild(owner))["channels"][0]["id"]
    async with page_server(
        PUBLIC, {"/a": Page(PAGE), "/b": Page(PAGE.replace(b"The", b"Other"))}
    ) as site:
        yield owner, channel, site


def _handler(server: RunningServer, **overrides: Any) -> EmbedderHandler:
    settings = server.settings.model_copy(
        update={"embed_fetch_allowed_networks": [f"{PUBLIC}/32"], **overrides}
    )
    return embedder_handler(settings, server.services.messages, server.services.message_store)


async def _feed(server: RunningServer, handler: EmbedderHandler, message_id: str) -> None:
    message = await server.services.message_store.get(Snowflake(int(message_id)))
    assert message is not None
    await handler.handle([MessageCreated(event_id=EVENT_IDS.next_id(), message=message)])


async def test_a_linked_page_gets_one_embed_that_arrives_live(
    client: GraphQLClient, server: RunningServer
) -> None:
    async with _world(client) as (owner, channel, site):
        handler = _handler(server)
        async with ws_connect(
            client.ws_url, payload={"authorization": f"Bearer {owner.token}"}
        ) as ws:
            events = await ws.subscribe(EVENTS)
            channel_op = await ws.subscribe(CHANNEL, {"c": channel})
            await ws.barrier()
            text = f"read this: {site.url('/a')}."
            sent = (await owner.client.execute(SEND, {"c": channel, "t": text})).ok()
            message_id = sent["sendMessage"]["message"]["id"]
            await _feed(server, handler, message_id)
            live = await _updated(ws, events)
            assert live["id"] == message_id
            assert live["embeds"] == [
                {
                    "type": "LINK",
                    "title": "The Article",
                    "url": site.url("/a"),
                    "description": "Worth reading",
                }
            ]
            assert (await _updated(ws, channel_op))["embeds"] == [{"title": "The Article"}]
            # Replays of the creation, and the embedder's own update, change nothing.
            message = await server.services.message_store.get(Snowflake(int(message_id)))
            assert message is not None
            await handler.handle(
                [
                    MessageCreated(event_id=Snowflake(1), message=message),
                    MessageUpdated(event_id=Snowflake(2), message=message),
                ]
            )
            await _feed(server, handler, message_id)
            await ws.expect_silence(events)
            assert site.paths == ["/a"]
            read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
            assert [e["title"] for e in read["embeds"]] == ["The Article"]

            # Suppressed: hidden, and shown again when the flag goes.
            (await owner.client.execute(EDIT, {"m": message_id, "s": True})).ok()
            assert (await _updated(ws, events))["embeds"] == []
            read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
            assert read == {"flags": ["SUPPRESS_EMBEDS"], "embeds": []}
            (await owner.client.execute(EDIT, {"m": message_id, "s": False})).ok()
            assert [e["title"] for e in (await _updated(ws, events))["embeds"]] == ["The Article"]
            read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
            assert [e["title"] for e in read["embeds"]] == ["The Article"]

            # A new content drops the old embed; the embedder makes the new one.
            (await owner.client.execute(EDIT, {"m": message_id, "t": site.url("/b")})).ok()
            assert (await _updated(ws, events))["embeds"] == []
            await _feed(server, handler, message_id)
            assert [e["title"] for e in (await _updated(ws, events))["embeds"]] == ["Other Article"]


async def test_suppressed_and_deleted_messages_are_not_fetched(
    client: GraphQLClient, server: RunningServer
) -> None:
    async with _world(client) as (owner, channel, site):
        handler = _handler(server)
        sent = (await owner.client.execute(SEND, {"c": channel, "t": site.url("/a")})).ok()
        message_id = sent["sendMessage"]["message"]["id"]
        (await owner.client.execute(EDIT, {"m": message_id, "s": True})).ok()
        await _feed(server, handler, message_id)
        message = await server.services.message_store.get(Snowflake(int(message_id)))
        assert message is not None
        (
            await owner.client.execute(
                "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }",
                {"m": message_id},
            )
        ).ok()
        await handler.handle([MessageCreated(event_id=Snowflake(3), message=message)])
        assert site.requests == []


async def test_with_the_default_policy_a_loopback_link_is_never_requested(
    client: GraphQLClient, server: RunningServer
) -> None:
    owner = await signed_up(client)
    channel = (await create_guild(owner))["channels"][0]["id"]
    async with page_server("127.0.0.1", {"/": Page(PAGE)}) as internal:
        handler = embedder_handler(
            server.settings, server.services.messages, server.services.message_store
        )
        links = (
            f"{internal.url('/')} http://localhost:{internal.port}/ http://[::1]:{internal.port}/"
        )
        sent = (await owner.client.execute(SEND, {"c": channel, "t": links})).ok()
        message_id = sent["sendMessage"]["message"]["id"]
        await _feed(server, handler, message_id)
        assert internal.requests == []
    read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
    assert read["embeds"] == []
