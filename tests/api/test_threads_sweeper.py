"""The auto-archive sweeper against what happens while it runs: it reads the idle threads,
then archives them, and a thread that came back to life in between (a message, a reopening)
stays open. Time moves with the server's injected clock; the sweep's two steps are driven
one after the other with a change made through GraphQL between them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.guilds import World, make_world
from tests.support.server import RunningServer

CREATE = """mutation($c: ID!, $n: String!) {
  createThread(input: {channelId: $c, name: $n, autoArchiveMinutes: 60}) { thread { id } } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
UPDATE = """mutation($t: ID!, $a: Boolean) {
  updateThread(input: {threadId: $t, archived: $a}) { thread { id archived } } }"""
THREAD = """query($t: ID!) { node(id: $t) { ... on ThreadChannel { archived archivedAt } } }"""


async def _thread(w: World, name: str) -> str:
    result = await w.owner.client.execute(CREATE, {"c": w.text_id, "n": name})
    return str(result.ok()["createThread"]["thread"]["id"])


async def _archived(client: GraphQLClient, thread: str) -> bool:
    node: dict[str, Any] = (await client.execute(THREAD, {"t": thread})).ok()["node"]
    return bool(node["archived"])


async def _idle_ids(server: RunningServer) -> tuple[list[str], Any]:
    """The sweeper's read, at the server's current time: the idle threads' ids and the page."""
    page = await server.services.threads.find_idle(after_id=None, now=server.services.clock.now())
    return sorted(str(t.thread.id) for t in page.idle), page


async def test_a_message_sent_after_the_sweepers_read_keeps_its_thread_open(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    busy, quiet = await _thread(w, "busy"), await _thread(w, "quiet")
    server.services.clock.advance(timedelta(minutes=61))
    found, page = await _idle_ids(server)
    assert found == sorted([busy, quiet])
    (await w.member.client.execute(SEND, {"c": busy, "t": "still here"})).ok()
    archived = await server.services.threads.archive_idle(
        page.idle, now=server.services.clock.now()
    )
    assert archived == 1
    assert await _archived(w.owner.client, busy) is False
    assert await _archived(w.owner.client, quiet) is True
    # Its delay runs from that message: the next sweep leaves it open too.
    assert await server.services.threads.archive_inactive() == 0
    assert await _archived(w.owner.client, busy) is False


async def test_a_thread_reopened_after_the_sweepers_read_stays_open(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    thread = await _thread(w, "reopened")
    server.services.clock.advance(timedelta(minutes=61))
    found, page = await _idle_ids(server)
    assert found == [thread]
    # A moderator closes it and opens it again meanwhile: the reopening is the newer intent.
    (await w.owner.client.execute(UPDATE, {"t": thread, "a": True})).ok()
    (await w.owner.client.execute(UPDATE, {"t": thread, "a": False})).ok()
    assert (
        await server.services.threads.archive_idle(page.idle, now=server.services.clock.now()) == 0
    )
    assert await _archived(w.owner.client, thread) is False
    # Reopening restarts the delay: the next sweep leaves it open, a later one closes it.
    assert await server.services.threads.archive_inactive() == 0
    assert await _archived(w.owner.client, thread) is False
    server.services.clock.advance(timedelta(minutes=61))
    assert await server.services.threads.archive_inactive() == 1
    assert await _archived(w.owner.client, thread) is True
