"""Voice states of an SFU whose heartbeats stop lapse, and the guild hears the member left."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gochat.voice import signals
from tests.api.test_live_delivery import live, next_of, subscribed
from tests.api.test_voice import VOICE_EVENTS, connected, fake_sfu, states
from tests.support.client import GraphQLClient
from tests.support.guilds import make_world
from tests.support.server import RunningServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "voice_regions": ["eu"],
        "voice_heartbeat_expiry_seconds": 2.0,
        "voice_sweep_interval_seconds": 0.1,
    }


async def test_states_of_an_sfu_whose_heartbeat_stops_expire(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with fake_sfu(server, "eu-1") as sfu, live(client, world.owner) as ws:
        op = await subscribed(ws, VOICE_EVENTS)
        grant = await connected(server, sfu, world, world.member)
        await next_of(ws, op, "VoiceStateUpdated")
        beat = signals.Heartbeat(
            sfu_id=sfu.id,
            region="eu",
            url=sfu.instance.url,
            load=1,
            members=[
                signals.RoomMember(
                    session_id=grant.session_id,
                    user_id=grant.user_id,
                    guild_id=grant.guild_id,
                    channel_id=grant.channel_id,
                )
            ],
        )
        # Heartbeats keep the state well past its expiry (2 s here)...
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            await sfu.report(beat)
            assert len(await states(world.owner.client, world.voice_id)) == 1
            await asyncio.sleep(0.2)
        # ...and when they stop, it lapses and the guild hears the member left.
        left = await next_of(ws, op, "VoiceStateUpdated")
        assert left["userId"] == world.member.id and left["voiceState"] is None
        assert await states(world.owner.client, world.voice_id) == []
