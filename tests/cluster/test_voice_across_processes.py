"""Voice across two API processes sharing PostgreSQL, NATS, Redis and etcd, with the test as
the SFU (registered in etcd, talking over NATS): a join made through one process and confirmed
by the SFU shows on the other, each transition is announced once, and a moderator acting
through the other process reaches the SFU."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest

from gochat.bus import Envelope
from gochat.bus.nats import NatsEventBus
from gochat.discovery.etcd import EtcdSfuRegistry
from gochat.discovery.registration import SfuRegistration
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from tests.support.cluster import Cluster, prime, subscribed, update_profile
from tests.support.engines import EtcdServer, NatsServer
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(180)

EVENTS = """subscription { events { __typename
  ... on UserUpdated { user { id displayName } }
  ... on VoiceStateUpdated { userId channelId voiceState { serverMute } }
  ... on SpeakingUpdated { userId speaking } } }"""
JOIN = "mutation($c: ID!) { joinVoice(input: {channelId: $c}) { sfuUrl token } }"
STATES = """query($c: ID!) { channel(id: $c) { ... on VoiceChannel { voiceStates {
  userId serverMute speaking } } } }"""
MUTE = """mutation($g: ID!, $u: ID!) { serverMuteMember(input: {guildId: $g, userId: $u}) {
  voiceState { serverMute } } }"""


async def test_voice_states_are_shared_and_announced_once(
    cluster: Cluster, etcd_engine: EtcdServer, nats_engine: NatsServer
) -> None:
    discovery = f"{etcd_engine.url}?prefix=/test/{secrets.token_hex(6)}"
    a, b = await cluster.start(2, discovery_url=discovery, voice_heartbeat_expiry_seconds="30")
    sfu_id = f"sfu-{secrets.token_hex(4)}"
    registry = EtcdSfuRegistry.from_url(discovery)
    registration = SfuRegistration(registry, sfu_id=sfu_id, region="global", url="ws://sfu")
    sfu_bus = await NatsEventBus.connect(nats_engine.url, name=sfu_id)
    commands = await sfu_bus.subscribe(signals.sfu_commands(sfu_id))
    keeper = asyncio.create_task(registration.run(lambda: 0))
    tokens = VoiceTokens(secret=cluster.jwt_secret, issuer="gochat")

    async def report(signal: Any) -> None:
        payload = signals.encode(signal)
        await sfu_bus.publish(
            [Envelope(subject=signals.sfu_reports(), event_id=0, payload=payload)], durable=False
        )

    try:
        async with httpx.AsyncClient(timeout=30) as http:
            world = await make_world(a.client(http))
            async with subscribed(b, world.owner.token, EVENTS) as on_b:
                owner_on_b = b.client(http, world.owner.token)
                await prime(on_b, lambda label: update_profile(owner_on_b, label))
                joined = (
                    await a.client(http, world.member.token).execute(JOIN, {"c": world.voice_id})
                ).ok()["joinVoice"]
                assert joined["sfuUrl"] == "ws://sfu"
                grant = tokens.verify(joined["token"], sfu_id=sfu_id)
                member = dict(
                    sfu_id=sfu_id,
                    session_id=grant.session_id,
                    user_id=grant.user_id,
                    guild_id=grant.guild_id,
                    channel_id=grant.channel_id,
                )

                await report(signals.MemberJoined(**member))
                event = await on_b.wait_for(
                    lambda e: e["__typename"] == "VoiceStateUpdated", timeout=20
                )
                assert event["userId"] == world.member.id
                listed = (
                    await b.client(http, world.owner.token).execute(STATES, {"c": world.voice_id})
                ).ok()["channel"]["voiceStates"]
                assert listed == [
                    {"userId": world.member.id, "serverMute": False, "speaking": False}
                ]

                # A repeated report changes nothing and is announced by nobody.
                await report(signals.MemberJoined(**member))
                await report(signals.SpeakingChanged(**member, speaking=True))
                speaking = await on_b.next(timeout=20)
                # One announcement per transition, though both processes applied each report.
                assert speaking == {
                    "__typename": "SpeakingUpdated",
                    "userId": world.member.id,
                    "speaking": True,
                }

                muted = (
                    await b.client(http, world.owner.token).execute(
                        MUTE, {"g": world.guild_id, "u": world.member.id}
                    )
                ).ok()
                assert muted["serverMuteMember"]["voiceState"] == {"serverMute": True}
                async with asyncio.timeout(20):
                    async for envelope in commands:
                        command = signals.decode_command(envelope.payload)
                        if isinstance(command, signals.SetServerState):
                            assert command.session_id == grant.session_id
                            assert command.server_mute
                            break
                # (MemberUpdated comes too: the mute is kept on the membership.)
                after = await on_b.wait_for(
                    lambda e: e["__typename"] == "VoiceStateUpdated", timeout=20
                )
                assert after["voiceState"] == {"serverMute": True}
                on_a = (
                    await a.client(http, world.owner.token).execute(STATES, {"c": world.voice_id})
                ).ok()["channel"]["voiceStates"]
                assert on_a == [{"userId": world.member.id, "serverMute": True, "speaking": True}]
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await commands.close()
        await sfu_bus.close()
        await registry.close()
