"""OpenSearch stopped for 30 s while messages are sent: sends go on, searches answer
UNAVAILABLE (never INTERNAL), and once the node is back the index holds exactly the stored
messages, the ones sent during the outage included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_search import ids_of, search, send, until
from tests.support.client import GraphQLClient
from tests.support.engines import OpenSearchNode, own_opensearch_node
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(400)

OUTAGE_SECONDS = 30.0


@pytest.fixture
def node() -> Iterator[OpenSearchNode]:
    with own_opensearch_node() as own:
        yield own


@pytest.fixture
def settings_overrides(node: OpenSearchNode) -> dict[str, Any]:
    # The test polls searches with big pages: no query cost budget in the way.
    return {"search_url": f"{node.url}/gochat", "rate_cost_per_user": "100000000/60"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_search_engine_outage_under_traffic(
    client: GraphQLClient, node: OpenSearchNode
) -> None:
    w = await make_world(client)
    sent = [await send(w.member.client, w.text_id, f"before outage {n}") for n in range(5)]
    await until(w.owner.client, lambda ids: len(ids) == 5, guildId=w.guild_id, query="outage")

    await asyncio.to_thread(node.stop)
    stopped = time.monotonic()
    refusals = 0
    while time.monotonic() - stopped < OUTAGE_SECONDS:
        sent.append(await send(w.member.client, w.text_id, f"during outage {len(sent)}"))
        answer = await search(w.owner.client, guildId=w.guild_id, query="outage")
        assert answer.error("UNAVAILABLE")
        refusals += 1
        await asyncio.sleep(0.5)
    assert refusals >= 10
    await asyncio.to_thread(node.start)

    settled = await until(
        w.owner.client,
        lambda ids: sorted(ids) == sorted(sent),
        # The runner retries a batch after 1, 5, 30, then 120 s while the engine is down.
        timeout=200,
        total=len(sent),
        guildId=w.guild_id,
        query="outage",
        first=100,
    )
    assert len(ids_of(settled)) == len(sent) <= 100
