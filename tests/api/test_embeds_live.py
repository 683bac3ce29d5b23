"""The server's own embedder, run by the worker runner: a message linking a page of an allowed
network gets its embed live on `events`; with the default configuration a loopback link is
never requested."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from gochat.ids import Snowflake
from gochat.workers.embedder import EmbedderHandler
from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.guilds import create_guild
from tests.support.pages import Page, page_server
from tests.support.server import RunningServer

PUBLIC = "127.0.0.2"
F = TypeVar("F", bound=Callable[..., Any])
PAGE = b"""<html><head><meta property="og:title" content="Live Page">
<meta property="og:site_name" content="Local"></head></html>"""
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id embeds { title } } } }"""
EVENTS = """subscription { events { __typename
  ... on MessageCreated { message { id } }
  ... on MessageUpdated { message { id embeds { type title provider { name } } } } } }"""
READ = "query($m: ID!) { message(id: $m) { embeds { title } } }"


def allowing(*networks: str) -> Callable[[F], F]:
    """Run the test's server with these networks allowed (default: none, as configured)."""

    def mark(test: F) -> F:
        test.allowed_networks = list(networks)  # type: ignore[attr-defined]
        return test

    return mark


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    values: dict[str, Any] = {}
    networks = getattr(request.function, "allowed_networks", None)
    if networks:
        values["embed_fetch_allowed_networks"] = networks
    if request.param == "cql-messages":
        values["messages_url"] = request.getfixturevalue("cassandra_url")
    return values


@allowing(f"{PUBLIC}/32")
async def test_a_link_to_an_allowed_page_gets_its_embed_live(
    client: GraphQLClient, server: RunningServer
) -> None:
    owner = await signed_up(client)
    channel = (await create_guild(owner))["channels"][0]["id"]
    async with (
        page_server(PUBLIC, {"/live": Page(PAGE)}) as site,
        ws_connect(client.ws_url, payload={"authorization": f"Bearer {owner.token}"}) as ws,
    ):
        op = await ws.subscribe(EVENTS)
        await ws.barrier()
        sent = await owner.client.execute(SEND, {"c": channel, "t": f"new: {site.url('/live')}"})
        message = sent.ok()["sendMessage"]["message"]
        assert message["embeds"] == []
        while True:
            payload = await ws.receive(op)
            assert payload["type"] == "next", payload
            event = payload["payload"]["data"]["events"]
            if event["__typename"] == "MessageUpdated" and event["message"]["id"] == message["id"]:
                break
        assert event["message"]["embeds"] == [
            {"type": "LINK", "title": "Live Page", "provider": {"name": "Local"}}
        ]
        assert site.paths == ["/live"]
    read = (await owner.client.execute(READ, {"m": message["id"]})).ok()["message"]
    assert read["embeds"] == [{"title": "Live Page"}]


async def test_with_the_default_configuration_a_loopback_link_is_never_requested(
    client: GraphQLClient, server: RunningServer
) -> None:
    embedder = server.services.workers["embedder"]
    assert isinstance(embedder, EmbedderHandler)
    owner = await signed_up(client)
    channel = (await create_guild(owner))["channels"][0]["id"]
    async with page_server("127.0.0.1", {"/": Page(PAGE)}) as internal:
        text = f"{internal.url('/')} and http://localhost:{internal.port}/"
        sent = (await owner.client.execute(SEND, {"c": channel, "t": text})).ok()
        message_id = Snowflake(int(sent["sendMessage"]["message"]["id"]))
        async with asyncio.timeout(20):
            while message_id not in embedder.recent:
                await asyncio.sleep(0.05)
        assert internal.requests == []
    read = (await owner.client.execute(READ, {"m": str(message_id)})).ok()["message"]
    assert read["embeds"] == []
