"""The same API with GOCHAT_BUS_URL=nats://... and GOCHAT_REDIS_URL=redis://... (scale mode)."""

from __future__ import annotations

from typing import Any

import nats
import pytest
from redis.asyncio import Redis

from gochat.bus import subjects
from gochat.bus.nats import STREAM
from tests.support.client import GraphQLClient, ws_connect
from tests.support.engines import NatsServer, RedisServer
from tests.support.factories import signed_up
from tests.support.guilds import make_world
from tests.support.server import RunningServer

EVENTS = "subscription { events { __typename ... on UserUpdated { user { displayName } } } }"


@pytest.fixture
def settings_overrides(nats_engine: NatsServer, redis_engine: RedisServer) -> dict[str, Any]:
    return {"bus_url": nats_engine.url, "redis_url": redis_engine.url}


async def test_events_travel_through_nats_and_land_in_the_stream(
    client: GraphQLClient, nats_engine: NatsServer
) -> None:
    alice = await signed_up(client)
    async with ws_connect(client.ws_url, payload={"authorization": f"Bearer {alice.token}"}) as ws:
        op = await ws.subscribe(EVENTS)
        await ws.barrier()  # the subscription listens before the change
        (
            await alice.client.execute(
                'mutation { updateProfile(input: {displayName: "Alice N"}) { user { id } } }'
            )
        ).ok()
        message = await ws.receive(op)
    assert message["payload"]["data"]["events"] == {
        "__typename": "UserUpdated",
        "user": {"displayName": "Alice N"},
    }
    nc = await nats.connect(nats_engine.url)
    try:
        subject = subjects.user(int(alice.id))
        info = await nc.jetstream().stream_info(STREAM, subjects_filter=subject)
        assert (info.state.subjects or {}).get(subject, 0) >= 1
    finally:
        await nc.close()


async def test_rate_limits_are_counted_in_redis(
    client: GraphQLClient, server: RunningServer, redis_engine: RedisServer
) -> None:
    await signed_up(client)
    redis = Redis.from_url(redis_engine.url)
    try:
        assert await redis.keys("gochat:rl:*")
    finally:
        await redis.aclose()


async def test_a_guild_message_reaches_a_channel_subscriber_through_nats(
    client: GraphQLClient,
) -> None:
    world = await make_world(client)
    query = "subscription($c: ID!) { channelEvents(channelId: $c) { __typename ... on MessageCreated { message { content } } } }"
    async with ws_connect(client.ws_url, payload={"authorization": world.member.token}) as ws:
        op = await ws.subscribe(query, {"c": world.text_id})
        await ws.barrier()
        (
            await world.owner.client.execute(
                'mutation($c: ID!) { sendMessage(input: {channelId: $c, content: "via nats"}) { message { id } } }',
                {"c": world.text_id},
            )
        ).ok()
        message = await ws.receive(op)
    assert message["payload"]["data"]["channelEvents"] == {
        "__typename": "MessageCreated",
        "message": {"content": "via nats"},
    }
