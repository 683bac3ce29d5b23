"""Redis killed: messaging and sign-in keep working (every send acknowledged and stored once),
presence degrades to what this process knows, and once Redis is back (empty, as after a
restart) the live connections report again. The same on one Redis server and on a Redis
Cluster whose nodes all die."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gochat.ids import Snowflake
from gochat.presence.redis import RedisPresenceStore
from gochat.redis_client import redis_client
from tests.support.client import GraphQLClient, ws_connect
from tests.support.engines import RedisCluster, RedisServer, redis_cluster, redis_server
from tests.support.factories import PASSWORD, login
from tests.support.faults import SendTally, assert_stored_exactly_once, send, stored_contents
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(90)

PRESENCES = "query($u: [ID!]!) { presences(userIds: $u) { userId status } }"
SENDS_DURING_OUTAGE = 10


@pytest.fixture(params=["redis", "redis-cluster"])
def own_redis(request: pytest.FixtureRequest) -> Iterator[RedisServer | RedisCluster]:
    """A Redis (or Redis Cluster) this test alone uses, so it may stop and restart it."""
    with redis_cluster() if request.param == "redis-cluster" else redis_server() as server:
        yield server


@pytest.fixture
def settings_overrides(own_redis: RedisServer | RedisCluster) -> dict[str, Any]:
    # A short TTL refreshes every second, so recovery is quick to observe.
    return {
        "redis_url": own_redis.url,
        "redis_cluster": isinstance(own_redis, RedisCluster),
        "presence_ttl_seconds": 3,
    }


async def shown(client: GraphQLClient, user_id: str) -> str:
    data = (await client.execute(PRESENCES, {"u": [user_id]})).ok()
    return str(data["presences"][0]["status"])


async def test_messaging_survives_redis_down_and_presence_recovers(
    client: GraphQLClient, own_redis: RedisServer | RedisCluster
) -> None:
    world = await make_world(client)
    token = f"Bearer {world.owner.token}"
    async with ws_connect(client.ws_url, payload={"authorization": token}):
        assert await shown(world.member.client, world.owner.id) == "ONLINE"

        await asyncio.to_thread(own_redis.kill)
        tally = SendTally()
        for n in range(SENDS_DURING_OUTAGE):
            await send(world.member.client, world.text_id, f"still here {n}", tally)
        assert len(tally.acknowledged) == SENDS_DURING_OUTAGE, tally.summary()
        await login(client, world.member.email, PASSWORD)  # rate limits count locally
        # Presence comes from this process meanwhile, new connections included.
        assert await shown(world.member.client, world.owner.id) == "ONLINE"
        member_token = f"Bearer {world.member.token}"
        async with ws_connect(client.ws_url, payload={"authorization": member_token}):
            assert await shown(world.owner.client, world.member.id) == "ONLINE"

            await asyncio.to_thread(own_redis.start)  # back, and empty
            redis = redis_client(own_redis.url, cluster=isinstance(own_redis, RedisCluster))
            try:
                layout = RedisPresenceStore(redis)  # the server's key layout
                key = layout.user_key(Snowflake(int(world.owner.id)))
                async with asyncio.timeout(10):
                    while not await redis.exists(key):
                        await asyncio.sleep(0.2)
                member_key = layout.user_key(Snowflake(int(world.member.id)))
                async with asyncio.timeout(10):
                    while not await redis.exists(member_key):
                        await asyncio.sleep(0.2)
            finally:
                await redis.aclose()
            assert await shown(world.member.client, world.owner.id) == "ONLINE"
            assert await shown(world.owner.client, world.member.id) == "ONLINE"
        assert await send(world.member.client, world.text_id, "and after", tally)
    assert_stored_exactly_once(tally, await stored_contents(world.member.client, world.text_id))
