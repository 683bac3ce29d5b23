"""Faults of the Cassandra message store, against real `gochat serve` processes and a real
Cassandra node that these tests alone use (they kill and restart it).

- A process that dies between a send's nonce claim and its message batch
  (GOCHAT_FAULT_INJECTION=crash-after-nonce-claim): the retry with the same nonce stores the
  message, once; a message sent, deleted and resent with its nonce is still a CONFLICT.
- Cassandra killed during sends: every answer is the message or UNAVAILABLE, /ready says 503
  while it is down and 200 once it is back, every acknowledged message is stored once.
- The server killed (SIGKILL) during sends with clients retrying by nonce: what was
  acknowledged is stored, nothing twice, no nonce left unusable.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.engines import CassandraNode, own_cassandra_node
from tests.support.factories import signed_up
from tests.support.faults_cql import (
    DELETE,
    SEND,
    SERVE_START_SECONDS,
    Tally,
    delivered_on,
    sender,
    serving_on,
    stored_messages,
    wait_ready_status,
)
from tests.support.guilds import create_guild

pytestmark = pytest.mark.timeout(600)

CRASH_EXIT_STATUS = 70  # README, GOCHAT_FAULT_INJECTION
# A claim's lease (15 s in the CQL store) must run out before a retry writes its message.
RETRY_SECONDS = 120.0


@pytest.fixture(scope="module")
def cassandra() -> Iterator[CassandraNode]:
    # A single node keeps what it acknowledged through a kill only with a synced commit log.
    with own_cassandra_node(durable=True) as node:
        yield node


def no_duplicates(stored: list[dict[str, str]]) -> None:
    twice = {c: n for c, n in Counter(m["content"] for m in stored).items() if n > 1}
    assert not twice, f"stored more than once: {twice}"


def report(name: str, tally: Tally, stored: int, delivered: int | None = None) -> None:
    sys.stderr.write(
        f"{name}: acknowledged={len(tally.acknowledged)} stored={stored} "
        f"delivered={delivered} answers={dict(tally.answers)}\n"
    )


async def test_a_send_cut_off_after_its_nonce_claim_is_stored_once_by_its_retry(
    cassandra: CassandraNode, tmp_path: Path
) -> None:
    async with (
        serving_on(cassandra, tmp_path, fault_injection="crash-after-nonce-claim") as (_, node),
        httpx.AsyncClient(timeout=60) as http,
    ):
        await node.start(timeout=SERVE_START_SECONDS)
        owner = await signed_up(node.client(http))
        channel = (await create_guild(owner))["channels"][0]["id"]
        variables = {"c": channel, "t": "cut off", "n": "nonce-1"}

        with pytest.raises(httpx.TransportError):  # the process dies mid-request
            await owner.client.execute(SEND, variables)
        assert await node.wait_exited(timeout=30) == CRASH_EXIT_STATUS, node.log_tail()
        assert "fault.crash_after_nonce_claim" in node.log_tail()
        node.env.pop("GOCHAT_FAULT_INJECTION")
        await node.start(timeout=SERVE_START_SECONDS)
        assert await stored_messages(owner.client, channel) == []

        # The claim's lease outlives the process: until it runs out, the retry is told to wait.
        deadline = time.monotonic() + RETRY_SECONDS
        while (retried := await owner.client.execute(SEND, variables)).errors:
            assert retried.codes == ["UNAVAILABLE"], retried.body
            assert time.monotonic() < deadline, "the retry never completed the send"
            await asyncio.sleep(0.5)
        sent = retried.data["sendMessage"]
        assert sent["created"] is True and sent["message"]["content"] == "cut off"
        assert await stored_messages(owner.client, channel) == [sent["message"]]
        again = (await owner.client.execute(SEND, variables)).ok()["sendMessage"]
        assert again == {**sent, "created": False}

        # Sent, deleted, resent with the same nonce: a CONFLICT, and nothing comes back.
        (await owner.client.execute(DELETE, {"m": sent["message"]["id"]})).ok()
        (await owner.client.execute(SEND, variables)).error("CONFLICT")
        assert await stored_messages(owner.client, channel) == []


async def test_cassandra_killed_during_sends_answers_unavailable_and_loses_nothing(
    cassandra: CassandraNode, tmp_path: Path
) -> None:
    async with (
        serving_on(cassandra, tmp_path) as (_, node),
        httpx.AsyncClient(timeout=60) as http,
    ):
        await node.start(timeout=SERVE_START_SECONDS)
        owner = await signed_up(node.client(http))
        channel = (await create_guild(owner))["channels"][0]["id"]
        tally = Tally()
        async with delivered_on(node, owner, channel) as deliveries:
            senders = asyncio.gather(
                *(sender(owner, channel, f"s{n}", 15, tally, timeout=300) for n in range(3))
            )
            try:
                async with asyncio.timeout(60):
                    while len(tally.acknowledged) < 6:
                        await asyncio.sleep(0.05)
                await asyncio.to_thread(cassandra.kill)
                await wait_ready_status(http, node, 503, timeout=60)
                async with asyncio.timeout(60):
                    while tally.answers["UNAVAILABLE"] < 3:
                        await asyncio.sleep(0.1)
                await asyncio.to_thread(cassandra.start)
                await wait_ready_status(http, node, 200, timeout=120)
                await senders
            finally:
                senders.cancel()
                await asyncio.gather(senders, return_exceptions=True)

            created = {a["message"]["id"] for a in tally.acknowledged.values() if a["created"]}
            async with asyncio.timeout(30):
                while not created <= set(deliveries.ids):
                    await asyncio.sleep(0.1)
            delivered = Counter(deliveries.ids)

        assert tally.wrong == [], tally.wrong
        assert len(tally.acknowledged) == 45
        everything = await stored_messages(owner.client, channel)
        stored = [m for m in everything if m["content"] != "probe"]
        report("cassandra killed", tally, len(stored), len(created & set(delivered)))
        no_duplicates(stored)
        assert {m["id"]: m["content"] for m in stored} == {
            a["message"]["id"]: a["message"]["content"] for a in tally.acknowledged.values()
        }
        assert {i: n for i, n in delivered.items() if n > 1} == {}, "delivered twice"
        assert set(delivered) <= {m["id"] for m in everything}, "delivered but not stored"


async def test_a_server_killed_mid_send_loses_doubles_and_poisons_nothing(
    cassandra: CassandraNode, tmp_path: Path
) -> None:
    async with (
        serving_on(cassandra, tmp_path) as (_, node),
        httpx.AsyncClient(timeout=60) as http,
    ):
        await node.start(timeout=SERVE_START_SECONDS)
        owner = await signed_up(node.client(http))
        channel = (await create_guild(owner))["channels"][0]["id"]
        tally = Tally()
        senders = asyncio.gather(
            *(sender(owner, channel, f"k{n}", 15, tally, timeout=300) for n in range(3))
        )
        try:
            for kills in (1, 2):
                async with asyncio.timeout(120):
                    while len(tally.acknowledged) < 12 * kills:
                        await asyncio.sleep(0.02)
                await node.kill()
                await node.start(timeout=SERVE_START_SECONDS)
            await senders
        finally:
            senders.cancel()
            await asyncio.gather(senders, return_exceptions=True)

        assert tally.wrong == [], tally.wrong
        assert len(tally.acknowledged) == 45
        stored = await stored_messages(owner.client, channel)
        report("server killed", tally, len(stored))
        no_duplicates(stored)
        assert {m["id"]: m["content"] for m in stored} == {
            a["message"]["id"]: a["message"]["content"] for a in tally.acknowledged.values()
        }
