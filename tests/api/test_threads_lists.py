"""Listing a channel's threads costs a fixed number of database statements, however many
threads the page holds (archived ones included)."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.guilds import World, make_world
from tests.support.server import RunningServer
from tests.support.statements import counted_statements

CREATE = """mutation($c: ID!, $n: String!) {
  createThread(input: {channelId: $c, name: $n}) { thread { id } } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
ARCHIVE = """mutation($t: ID!) {
  updateThread(input: {threadId: $t, archived: true}) { thread { id } } }"""
LIST = """query($c: ID!, $a: Boolean) { node(id: $c) { ... on TextChannel {
  threads(archived: $a, first: 50) { edges { node {
    id name archived archivedAt locked autoArchiveMinutes ownerId
    myPermissions { mask } parent { id name } owner { id handle }
    lastMessageId messageCount
  } } } } } }"""


async def _archived_threads(w: World, count: int, prefix: str) -> None:
    for n in range(count):
        thread = (await w.owner.client.execute(CREATE, {"c": w.text_id, "n": f"{prefix}{n}"})).ok()[
            "createThread"
        ]["thread"]["id"]
        (await w.owner.client.execute(SEND, {"c": thread, "t": "hello"})).ok()
        (await w.owner.client.execute(ARCHIVE, {"t": thread})).ok()


async def _statements(server: RunningServer, w: World, archived: bool | None) -> list[str]:
    """The statements of one listing, the fewest of three: a request may also find the
    member's session or the guild's data dropped from the process caches (they expire after
    seconds, and change events drop them), which adds reads that are not the list's."""
    runs = []
    for _ in range(3):
        with counted_statements(server) as seen:
            (await w.member.client.execute(LIST, {"c": w.text_id, "a": archived})).ok()
        runs.append(list(seen))
    return min(runs, key=len)


async def test_listing_archived_threads_costs_the_same_statements_for_2_or_12(
    client: GraphQLClient, server: RunningServer
) -> None:
    w = await make_world(client)
    await _archived_threads(w, 2, "a")
    few = await _statements(server, w, True)
    await _archived_threads(w, 10, "b")
    many = await _statements(server, w, True)
    assert any(s.lstrip().upper().startswith("SELECT") for s in few)  # reads are seen
    assert len(many) == len(few), "\n".join(many)
    assert len(await _statements(server, w, None)) == len(few)
