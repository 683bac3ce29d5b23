"""The embedder killed in the middle of a batch: the batch was never settled, so it comes again
after its lease; what was stored before the kill is not stored or announced twice, and what was
cut off is done."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gochat.ids import Snowflake
from gochat.workers.runner import EventWorker
from gochat.workers.sources import JobTableSource
from tests.support.client import GraphQLClient, ws_connect
from tests.support.factories import signed_up
from tests.support.guilds import create_guild
from tests.support.pages import Page, page_server
from tests.support.server import RunningServer

PUBLIC = "127.0.0.2"
PAGE = b'<html><head><meta property="og:title" content="{title}"></head></html>'
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
READ = "query($m: ID!) { message(id: $m) { embeds { title } } }"
EVENTS = """subscription { events { __typename
  ... on MessageUpdated { message { id embeds { title } } } } }"""

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # No worker runs in the server: the test runs the embedder's worker itself.
    return {"workers_in_process": False, "embed_fetch_allowed_networks": [f"{PUBLIC}/32"]}


async def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_no_embed(
    client: GraphQLClient, server: RunningServer
) -> None:
    jobs = server.services.jobs
    handler = server.services.workers["embedder"]
    owner = await signed_up(client)
    channel = (await create_guild(owner))["channels"][0]["id"]
    hanging = asyncio.Event()
    cut_off = True

    async def slow_then_fine(writer: asyncio.StreamWriter) -> None:
        if cut_off:
            hanging.set()
            await asyncio.sleep(60)  # until the worker is killed
        body = PAGE.replace(b"{title}", b"Slow")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()

    async with (
        page_server(
            PUBLIC, {"/fast": Page(PAGE.replace(b"{title}", b"Fast")), "/slow": slow_then_fine}
        ) as site,
        ws_connect(client.ws_url, payload={"authorization": f"Bearer {owner.token}"}) as ws,
    ):
        op = await ws.subscribe(EVENTS)
        await ws.barrier()
        fast = (await owner.client.execute(SEND, {"c": channel, "t": site.url("/fast")})).ok()
        slow = (await owner.client.execute(SEND, {"c": channel, "t": site.url("/slow")})).ok()
        fast_id = fast["sendMessage"]["message"]["id"]
        slow_id = slow["sendMessage"]["message"]["id"]
        async with asyncio.timeout(30):
            while await jobs.pending("embedder") < 2:
                await asyncio.sleep(0.05)

        def worker() -> EventWorker:
            source = JobTableSource(jobs, asyncio.Event(), poll_seconds=0.05, lease_seconds=1.0)
            return EventWorker(handler, source, jobs)

        first = worker()
        first.start()
        # The fast page's embed is stored and announced; the slow page holds the batch open.
        event = await _next_update(ws, op)
        assert event == {"id": fast_id, "embeds": [{"title": "Fast"}]}
        async with asyncio.timeout(30):
            await hanging.wait()
        await first.stop()  # killed mid-batch: nothing settled
        assert first.handled == 0
        assert await jobs.pending("embedder") == 2

        cut_off = False
        second = worker()
        second.start()
        try:
            event = await _next_update(ws, op)
            assert event == {"id": slow_id, "embeds": [{"title": "Slow"}]}
            async with asyncio.timeout(30):
                while await jobs.pending("embedder") > 0:
                    await asyncio.sleep(0.05)
            # The fast message's embed was not announced, nor stored, a second time.
            await ws.expect_silence(op, seconds=0.5)
        finally:
            await second.stop()
        assert site.paths.count("/fast") == 1
    for message_id, title in ((fast_id, "Fast"), (slow_id, "Slow")):
        read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
        assert read["embeds"] == [{"title": title}]
    assert Snowflake(int(fast_id)) in handler.recent  # type: ignore[attr-defined]


async def _next_update(ws: Any, op: str) -> dict[str, Any]:
    while True:
        message = await ws.receive(op)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["events"]
        if event["__typename"] == "MessageUpdated" and event["message"]["embeds"]:
            return dict(event["message"])
