"""NATS killed under sends on a two-process cluster: each change commits and is answered at once
while the bus is known to be down (the publish timeout is set far above any answer time here),
and once NATS is back the outbox relay puts every acknowledged message in the stream exactly
once; a live subscriber sees each at most once, and a ResyncRequired for any it missed, and a
subscription opened during the outage is live once NATS is back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.cluster import (
    prime,
    running_cluster,
    stream_payloads,
    subscribed,
    update_profile,
)
from tests.support.engines import NatsServer, RedisServer, nats_server
from tests.support.faults import SendTally, send
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(120)

PUBLISH_TIMEOUT_SECONDS = 30
# Far below the publish timeout: an answer this fast did not wait for the bus.
FAST_ANSWER_SECONDS = 5
SENDS_PER_PHASE = 10
# Client reconnect backoff (GOCHAT_BUS_RECONNECT_WAIT_SECONDS, 2 s) plus relay grace (1 s)
# and interval (0.2 s) in the cluster helper, with room for a slow machine.
RECOVERY_SECONDS = 30
EVENTS = """subscription { events {
  __typename ... on MessageCreated { message { content } } } }"""


@pytest.fixture
def own_nats() -> Iterator[NatsServer]:
    """A NATS server this test alone uses, so it may kill and restart it."""
    with nats_server() as server:
        yield server


def message_created(content: str) -> Any:
    def matches(event: dict[str, Any]) -> bool:
        return bool(
            event.get("__typename") == "MessageCreated" and event["message"]["content"] == content
        )

    return matches


async def copies_in_stream(nats_url: str, subject: str, contents: list[str]) -> dict[str, int]:
    payloads = await stream_payloads(nats_url, subject)
    markers = {c: f'"content":"{c}"'.encode() for c in contents}
    return {c: sum(m in p for p in payloads) for c, m in markers.items()}


async def test_writes_answer_at_once_while_nats_is_down_and_each_is_delivered_once_after(
    postgres_database: str, own_nats: NatsServer, redis_engine: RedisServer, tmp_path: Path
) -> None:
    async with (
        running_cluster(
            tmp_path / "cluster",
            database_url=postgres_database,
            bus_url=own_nats.url,
            redis_url=redis_engine.url,
        ) as cluster,
        httpx.AsyncClient(timeout=2 * PUBLISH_TIMEOUT_SECONDS) as http,
    ):
        cluster.settings["GOCHAT_BUS_PUBLISH_TIMEOUT_SECONDS"] = str(PUBLISH_TIMEOUT_SECONDS)
        a, b = await cluster.start(2)
        world = await make_world(a.client(http))
        via_a = world.owner.client
        via_b = GraphQLClient(b.url, http, world.member.token)
        warmup = SendTally()
        async with (
            contextlib.AsyncExitStack() as stack,
            subscribed(b, world.member.token, EVENTS) as on_b,
        ):
            await prime(
                on_b,
                lambda label: send(via_a, world.text_id, label, warmup),
                matcher=message_created,
            )

            tally = SendTally()
            await asyncio.to_thread(own_nats.kill)
            # A subscription opened meanwhile, on a subject new to B: live once NATS is back.
            late = await stack.enter_async_context(subscribed(b, world.owner.token))
            for i in range(SENDS_PER_PHASE):
                await send(via_a if i % 2 else via_b, world.text_id, f"down-{i}", tally)
            # Back, while both processes are still waiting to reconnect.
            await asyncio.to_thread(own_nats.start)
            for i in range(SENDS_PER_PHASE):
                await send(via_a if i % 2 else via_b, world.text_id, f"back-{i}", tally)

            tally.assert_only_success_or_retryable()
            assert len(tally.acknowledged) == 2 * SENDS_PER_PHASE, tally.summary()
            assert max(tally.answer_seconds) < FAST_ANSWER_SECONDS, tally.summary()

            subject = f"gochat.guild.{world.guild_id}"
            sent = list(tally.acknowledged)
            async with asyncio.timeout(RECOVERY_SECONDS):
                while 0 in (copies := await copies_in_stream(own_nats.url, subject, sent)).values():
                    await asyncio.sleep(0.2)
            assert set(copies.values()) == {1}, copies
            await prime(late, lambda label: update_profile(via_a, label), timeout=RECOVERY_SECONDS)

            # The live subscriber: each message at most once, and a resync for any it missed.
            seen: list[str] = []
            resync = False
            while len(set(seen)) < len(sent) and not resync:
                try:
                    event = await on_b.next(timeout=RECOVERY_SECONDS)
                except TimeoutError:
                    break
                if event["__typename"] == "ResyncRequired":
                    resync = True
                elif event["__typename"] == "MessageCreated":
                    seen.append(event["message"]["content"])
            ours = [c for c in seen if c in tally.acknowledged]
            assert len(ours) == len(set(ours)), f"delivered twice: {ours}"
            assert resync or set(ours) == set(sent), (seen, resync)

        stored = (
            await via_b.execute(
                "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages(last: 100) { edges { node { content } } } } } }",
                {"c": world.text_id},
            )
        ).ok()
        contents = [e["node"]["content"] for e in stored["channel"]["messages"]["edges"]]
        assert sorted(c for c in contents if c in tally.acknowledged) == sorted(sent)
