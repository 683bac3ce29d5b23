"""Slowmode holds across processes: the spacing lives in the shared Redis, so a member who sent
through one process waits on every other one too."""

from __future__ import annotations

import httpx
import pytest

from tests.support.cluster import Cluster
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

RULES = """mutation($c: ID!) { updateChannel(input: {channelId: $c, rateLimitPerUser: 600}) {
  channel { id } } }"""
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""


async def test_a_member_who_sent_through_one_process_waits_on_the_other(
    cluster_on_either_redis: Cluster,
) -> None:
    a, b = await cluster_on_either_redis.start(2)
    async with httpx.AsyncClient(timeout=30) as http:
        world = await make_world(a.client(http))
        (await a.client(http, world.owner.token).execute(RULES, {"c": world.text_id})).ok()
        (
            await a.client(http, world.member.token).execute(SEND, {"c": world.text_id, "t": "a"})
        ).ok()
        refused = (
            await b.client(http, world.member.token).execute(SEND, {"c": world.text_id, "t": "b"})
        ).error("RATE_LIMITED")
    assert 590 <= refused["extensions"]["retryAfterSeconds"] <= 600
