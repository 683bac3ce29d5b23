"""Voice with SFUs registered in a real etcd, as SFU processes register: a lapsed lease takes
an SFU out of rotation, and its room goes to another SFU on rejoin."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import pytest

from gochat.discovery.etcd import EtcdSfuRegistry
from gochat.discovery.registration import SfuRegistration
from gochat.voice.tokens import VoiceTokens
from tests.support.client import GraphQLClient
from tests.support.engines import EtcdServer
from tests.support.guilds import make_world
from tests.support.server import RunningServer

pytestmark = pytest.mark.timeout(60)

JOIN = """mutation($c: ID!) { joinVoice(input: {channelId: $c}) { sfuUrl token region } }"""
PREFIX = f"/test/{secrets.token_hex(6)}"


@pytest.fixture
def settings_overrides(etcd_engine: EtcdServer) -> dict[str, Any]:
    return {"voice_regions": ["eu"], "discovery_url": f"{etcd_engine.url}?prefix={PREFIX}"}


async def test_a_lapsed_lease_sends_joins_to_the_other_sfu(
    server: RunningServer, client: GraphQLClient, etcd_engine: EtcdServer
) -> None:
    world = await make_world(client)
    sfu_side = EtcdSfuRegistry.from_url(f"{etcd_engine.url}?prefix={PREFIX}")
    settings = server.settings
    tokens = VoiceTokens(secret=settings.signing_secret(), issuer=settings.jwt_issuer)
    try:
        doomed = SfuRegistration(
            sfu_side, sfu_id="eu-doomed", region="eu", url="ws://doomed", lease_seconds=2
        )
        steady = SfuRegistration(
            sfu_side, sfu_id="eu-steady", region="eu", url="ws://steady", lease_seconds=2
        )
        await doomed.register(load=0)
        keeper = asyncio.create_task(steady.run(lambda: 5))
        try:
            first = (await world.member.client.execute(JOIN, {"c": world.voice_id})).ok()
            assert first["joinVoice"]["sfuUrl"] == "ws://doomed"
            tokens.verify(first["joinVoice"]["token"], sfu_id="eu-doomed")
            # The doomed SFU stops refreshing (it died): its lease lapses in etcd.
            deadline = time.monotonic() + 20
            while [i.id for i in await sfu_side.live("eu")] != ["eu-steady"]:
                assert time.monotonic() < deadline, "the lease did not lapse"
                await asyncio.sleep(0.1)
            # Its room (the member is still held there) moves on rejoin, and new joins follow.
            again = (await world.member.client.execute(JOIN, {"c": world.voice_id})).ok()
            assert again["joinVoice"]["sfuUrl"] == "ws://steady"
            tokens.verify(again["joinVoice"]["token"], sfu_id="eu-steady")
            other = (await world.owner.client.execute(JOIN, {"c": world.voice_id})).ok()
            assert other["joinVoice"]["sfuUrl"] == "ws://steady"
        finally:
            keeper.cancel()
            with pytest.raises(asyncio.CancelledError):
                await keeper
        # The steady SFU withdrew on shutdown: nothing is left to join.
        gone = await world.owner.client.execute(JOIN, {"c": world.voice_id})
        assert gone.codes == ["UNAVAILABLE"]
    finally:
        await sfu_side.close()
