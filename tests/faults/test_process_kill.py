"""A `gochat serve` process killed (SIGKILL) while clients send to the SQL message store: once it
is back and the clients retry what went unanswered with the same nonces, every message is stored
exactly once, the acknowledged ones included (what was acknowledged had committed)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.cluster import running_cluster
from tests.support.faults import SendTally, assert_stored_exactly_once, send, stored_contents
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(120)

ACKS_BEFORE_KILL = 5
RETRY_SECONDS = 30


async def send_until_cut_off(
    client: GraphQLClient, channel_id: str, prefix: str, tally: SendTally
) -> None:
    """Send one message after another until the process stops answering."""
    n = 0
    while True:
        n += 1
        await send(client, channel_id, f"{prefix}-{n}", tally)
        if tally.lost_connection and tally.lost_connection[-1] == f"{prefix}-{n}":
            return


async def retry_until_acknowledged(
    client: GraphQLClient, channel_id: str, content: str, tally: SendTally
) -> None:
    deadline = time.monotonic() + RETRY_SECONDS
    while not await send(client, channel_id, content, tally):
        assert time.monotonic() < deadline, f"{content} never acknowledged: {tally.summary()}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
async def test_a_process_killed_mid_send_loses_and_duplicates_nothing_when_clients_retry(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_cluster(
            tmp_path / "cluster", database_url=database_url, bus_url="memory://", redis_url=None
        ) as cluster,
        httpx.AsyncClient(timeout=30) as http,
    ):
        node = cluster.add()
        await node.start()
        world = await make_world(node.client(http))
        authors = {"owner": world.owner.client, "member": world.member.client}
        tally = SendTally()
        senders = [
            asyncio.create_task(send_until_cut_off(client, world.text_id, name, tally))
            for name, client in authors.items()
        ]
        async with asyncio.timeout(RETRY_SECONDS):
            while len(tally.acknowledged) < ACKS_BEFORE_KILL:
                await asyncio.sleep(0.01)
        await node.kill()
        await asyncio.gather(*senders)
        tally.assert_only_success_or_retryable()
        acknowledged_before = dict(tally.acknowledged)

        await node.restart()
        for content in tally.lost_connection + tally.retryable:
            author = authors[content.split("-")[0]]
            await retry_until_acknowledged(author, world.text_id, content, tally)
        tally.assert_only_success_or_retryable()
        # A retry of an acknowledged message would return the same one; nothing changed ids.
        assert {c: tally.acknowledged[c] for c in acknowledged_before} == acknowledged_before
        stored = await stored_contents(world.member.client, world.text_id)
        assert_stored_exactly_once(tally, stored)
        ours = {c for c in stored if c.startswith(tuple(authors))}  # not the join notices
        assert ours == set(tally.acknowledged), tally.summary()
