"""Voice through GraphQL, with the test playing the SFU: it registers in the server's SFU
registry, listens to the commands the API sends it and publishes the reports an SFU would
(joined, speaking, left, heartbeats) on the server's bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gochat.bus import Envelope, EventBus, Subscription
from gochat.discovery import SfuInstance
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from tests.api.test_live_delivery import live, next_of, subscribed
from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import World, invite_and_join, make_world
from tests.support.server import RunningServer

pytestmark = pytest.mark.timeout(60)

JOIN = """mutation($c: ID!) { joinVoice(input: {channelId: $c}) {
  sfuUrl token region expiresAt voiceState { userId channelId serverMute } } }"""
LEAVE = "mutation { leaveVoice { voiceState { userId channelId } } }"
SELF = """mutation($m: Boolean, $d: Boolean) { updateVoiceState(input: {selfMute: $m, selfDeaf: $d})
  { voiceState { selfMute selfDeaf } } }"""
MUTE = """mutation($g: ID!, $u: ID!, $m: Boolean!) { serverMuteMember(input: {guildId: $g, userId: $u,
  mute: $m}) { voiceState { userId serverMute } } }"""
DEAFEN = """mutation($g: ID!, $u: ID!) { serverDeafenMember(input: {guildId: $g, userId: $u}) {
  voiceState { serverDeaf } } }"""
MOVE = """mutation($g: ID!, $u: ID!, $c: ID!) { moveVoiceMember(input: {guildId: $g, userId: $u,
  toChannelId: $c}) { voiceState { channelId } } }"""
KICK_FROM_VOICE = """mutation($g: ID!, $u: ID!) { disconnectVoiceMember(input: {guildId: $g,
  userId: $u}) { voiceState { userId } } }"""
CHANNEL_STATES = """query($c: ID!) { channel(id: $c) { ... on VoiceChannel { voiceStates {
  userId channelId selfMute selfDeaf serverMute serverDeaf video speaking user { id }
  channel { id } } } } }"""
GUILD_STATES = "query($g: ID!) { guild(id: $g) { voiceStates { userId channelId speaking } } }"
REGIONS = "{ voiceRegions { id available } }"
CREATE_VOICE = """mutation($g: ID!, $n: String!, $l: Int, $r: String) { createChannel(input: {
  guildId: $g, type: VOICE, name: $n, userLimit: $l, voiceRegion: $r}) { channel { id
  ... on VoiceChannel { userLimit voiceRegion } } } }"""
SET_REGION = """mutation($c: ID!, $r: String!) { updateChannel(input: {channelId: $c,
  voiceRegion: $r}) { channel { id } } }"""
TIMEOUT = """mutation($g: ID!, $u: ID!, $until: DateTime!) { timeoutMember(input: {guildId: $g,
  userId: $u, until: $until}) { member { userId } } }"""
KICK = "mutation($g: ID!, $u: ID!) { kickMember(input: {guildId: $g, userId: $u}) { userId } }"

VOICE_EVENTS = """subscription { events { __typename
  ... on VoiceStateUpdated { guildId channelId userId voiceState { userId channelId serverMute
    speaking selfMute video } }
  ... on SpeakingUpdated { guildId channelId userId speaking }
  ... on VoiceServerUpdated { guildId channelId sfuUrl token region } } }"""
CHANNEL_EVENTS = """subscription($c: ID!) { channelEvents(channelId: $c) { __typename
  ... on VoiceStateUpdated { userId voiceState { userId } }
  ... on SpeakingUpdated { userId speaking }
  ... on VoiceServerUpdated { token } } }"""


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "voice_regions": ["eu", "us"],
        # Long enough that no state lapses during a test without heartbeats, on a slow machine
        # too; the expiry has its own module (test_voice_expiry.py).
        "voice_heartbeat_expiry_seconds": 120.0,
        "voice_sweep_interval_seconds": 0.1,
    }


class FakeSfu:
    """What an SFU does on the bus, driven by the test."""

    def __init__(self, bus: EventBus, instance: SfuInstance, commands: Subscription) -> None:
        self.bus = bus
        self.instance = instance
        self._commands = commands

    @property
    def id(self) -> str:
        return self.instance.id

    async def report(self, report: signals._Signal) -> None:
        envelope = Envelope(
            subject=signals.sfu_reports(), event_id=0, payload=signals.encode(report)
        )
        await self.bus.publish([envelope], durable=False)

    async def joined(self, grant: Any) -> None:
        await self.report(
            signals.MemberJoined(
                sfu_id=self.id,
                session_id=grant.session_id,
                user_id=grant.user_id,
                guild_id=grant.guild_id,
                channel_id=grant.channel_id,
            )
        )

    async def command(self, kind: type[Any], timeout: float = 10.0) -> Any:
        """The next command of this kind sent to this SFU."""
        async with asyncio.timeout(timeout):
            async for envelope in self._commands:
                command = signals.decode_command(envelope.payload)
                if isinstance(command, kind):
                    return command
        raise AssertionError("commands ended")


@asynccontextmanager
async def fake_sfu(
    server: RunningServer, sfu_id: str, region: str = "eu", load: int = 0
) -> AsyncIterator[FakeSfu]:
    services = server.services
    instance = SfuInstance(id=sfu_id, region=region, url=f"ws://127.0.0.1:9/{sfu_id}", load=load)
    await services.sfu_registry.announce(instance, ttl_seconds=60)
    commands = await services.bus.subscribe(signals.sfu_commands(sfu_id))
    try:
        yield FakeSfu(services.bus, instance, commands)
    finally:
        await commands.close()
        await services.sfu_registry.withdraw(sfu_id)


def tokens(server: RunningServer) -> VoiceTokens:
    settings = server.settings
    return VoiceTokens(secret=settings.signing_secret(), issuer=settings.jwt_issuer)


async def join(user: Any, channel_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await user.client.execute(JOIN, {"c": channel_id})).ok()["joinVoice"]
    return data


async def states(client: GraphQLClient, channel_id: str) -> list[dict[str, Any]]:
    data = (await client.execute(CHANNEL_STATES, {"c": channel_id})).ok()
    result: list[dict[str, Any]] = data["channel"]["voiceStates"]
    return result


async def eventually(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def connected(server: RunningServer, sfu: FakeSfu, world: World, user: Any) -> Any:
    """`user` joins the world's voice channel and the SFU reports them in: their grant."""
    joined = await join(user, world.voice_id)
    grant = tokens(server).verify(joined["token"], sfu_id=sfu.id)
    await sfu.joined(grant)

    async def shown() -> bool:
        return any(s["userId"] == user.id for s in await states(world.owner.client, world.voice_id))

    await eventually(shown)
    return grant


async def test_join_returns_a_token_the_chosen_sfu_accepts(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with fake_sfu(server, "eu-busy", load=9), fake_sfu(server, "eu-idle", load=1):
        joined = await join(world.member, world.voice_id)
        assert joined["sfuUrl"] == "ws://127.0.0.1:9/eu-idle"
        assert joined["region"] == "eu"
        grant = tokens(server).verify(joined["token"], sfu_id="eu-idle")
        assert str(grant.user_id) == world.member.id
        assert str(grant.channel_id) == world.voice_id
        assert str(grant.guild_id) == world.guild_id
        assert grant.can_speak and grant.can_video and not grant.server_mute
        with pytest.raises(Exception, match="invalid SFU token"):
            tokens(server).verify(joined["token"], sfu_id="eu-busy")
        # Not shown before the SFU reports the member in.
        assert await states(world.owner.client, world.voice_id) == []
        regions = (await world.member.client.execute(REGIONS)).ok()["voiceRegions"]
        assert regions == [{"id": "eu", "available": True}, {"id": "us", "available": False}]


async def test_joining_without_voice_connect_is_forbidden(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    (
        await world.owner.client.execute(
            """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {channelId: $c,
            targetType: MEMBER, targetId: $u, deny: [VOICE_CONNECT]}) { overwrite { targetId } } }""",
            {"c": world.voice_id, "u": world.member.id},
        )
    ).ok()
    async with fake_sfu(server, "eu-1"):
        result = await world.member.client.execute(JOIN, {"c": world.voice_id})
        assert result.codes == ["FORBIDDEN"]
        text = await world.member.client.execute(JOIN, {"c": world.text_id})
        assert text.codes == ["BAD_USER_INPUT"]
        outsider = await world.outsider.client.execute(JOIN, {"c": world.voice_id})
        assert outsider.codes == ["NOT_FOUND"]


async def test_no_live_sfu_in_the_region_is_unavailable(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with fake_sfu(server, "us-1", region="us"):
        result = await world.member.client.execute(JOIN, {"c": world.voice_id})
        assert result.codes == ["UNAVAILABLE"]


async def test_a_full_channel_refuses_one_more_member(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    created = (
        await world.owner.client.execute(
            CREATE_VOICE, {"g": world.guild_id, "n": "Small room", "l": 1}
        )
    ).ok()["createChannel"]["channel"]
    assert created["userLimit"] == 1
    bad = await world.owner.client.execute(
        CREATE_VOICE, {"g": world.guild_id, "n": "Huge", "l": 100}
    )
    assert bad.codes == ["BAD_USER_INPUT"]
    async with fake_sfu(server, "eu-1"):
        await join(world.member, created["id"])
        # The owner may bypass limits (VOICE_MOVE_MEMBERS); a plain member may not.
        third = await make_world_member(world, client)
        refused = await third.client.execute(JOIN, {"c": created["id"]})
        assert refused.codes == ["CONFLICT"]
        await join(world.member, created["id"])  # rejoining keeps one's own place
        await join(world.owner, created["id"])
        (await world.member.client.execute(LEAVE)).ok()
        assert (await third.client.execute(JOIN, {"c": created["id"]})).codes == ["CONFLICT"]
        left = (await world.owner.client.execute(LEAVE)).ok()["leaveVoice"]["voiceState"]
        assert left == {"userId": world.owner.id, "channelId": created["id"]}
        await join(third, created["id"])
        assert (await world.owner.client.execute(LEAVE)).ok()["leaveVoice"]["voiceState"] is None


async def make_world_member(world: World, client: GraphQLClient) -> Any:
    user = await signed_up(client)
    await invite_and_join(world.owner, user, world.text_id)
    return user


async def test_a_timed_out_member_is_refused_and_dropped_from_voice(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with fake_sfu(server, "eu-1") as sfu, live(client, world.owner) as ws:
        op = await subscribed(ws, VOICE_EVENTS)
        grant = await connected(server, sfu, world, world.member)
        appeared = await next_of(ws, op, "VoiceStateUpdated")
        assert appeared["voiceState"]["userId"] == world.member.id
        (
            await world.owner.client.execute(
                TIMEOUT,
                {
                    "g": world.guild_id,
                    "u": world.member.id,
                    "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                },
            )
        ).ok()
        dropped = await sfu.command(signals.Disconnect)
        assert (dropped.session_id, dropped.user_id) == (grant.session_id, grant.user_id)
        left = await next_of(ws, op, "VoiceStateUpdated")
        assert left["userId"] == world.member.id and left["voiceState"] is None
        assert await states(world.owner.client, world.voice_id) == []
        refused = await world.member.client.execute(JOIN, {"c": world.voice_id})
        assert refused.codes == ["FORBIDDEN"]


async def test_a_kicked_member_is_dropped_from_voice(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with fake_sfu(server, "eu-1") as sfu:
        grant = await connected(server, sfu, world, world.member)
        (await world.owner.client.execute(KICK, {"g": world.guild_id, "u": world.member.id})).ok()
        dropped = await sfu.command(signals.Disconnect)
        assert dropped.session_id == grant.session_id
        assert await states(world.owner.client, world.voice_id) == []


async def test_server_mute_tells_the_sfu_and_the_guild(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with (
        fake_sfu(server, "eu-1") as sfu,
        live(client, world.owner) as ws,
    ):
        op = await subscribed(ws, VOICE_EVENTS)
        channel_op = await subscribed(ws, CHANNEL_EVENTS, {"c": world.voice_id})
        grant = await connected(server, sfu, world, world.member)
        await next_of(ws, op, "VoiceStateUpdated")
        await next_of(ws, channel_op, "VoiceStateUpdated")
        # A plain member may not.
        denied = await world.member.client.execute(
            MUTE, {"g": world.guild_id, "u": world.owner.id, "m": True}
        )
        assert denied.codes == ["NOT_FOUND"]  # the owner is not in voice
        denied = await world.member.client.execute(
            MUTE, {"g": world.guild_id, "u": world.member.id, "m": True}
        )
        assert denied.codes == ["FORBIDDEN"]
        muted = (
            await world.owner.client.execute(
                MUTE, {"g": world.guild_id, "u": world.member.id, "m": True}
            )
        ).ok()["serverMuteMember"]["voiceState"]
        assert muted == {"userId": world.member.id, "serverMute": True}
        command = await sfu.command(signals.SetServerState)
        assert command == signals.SetServerState(
            session_id=grant.session_id,
            user_id=grant.user_id,
            server_mute=True,
            server_deaf=False,
        )
        event = await next_of(ws, op, "VoiceStateUpdated")
        assert event["voiceState"]["serverMute"] is True
        assert (await next_of(ws, channel_op, "VoiceStateUpdated"))["userId"] == world.member.id
        deaf = (
            await world.owner.client.execute(DEAFEN, {"g": world.guild_id, "u": world.member.id})
        ).ok()
        assert deaf["serverDeafenMember"]["voiceState"]["serverDeaf"] is True
        assert (await sfu.command(signals.SetServerState)).server_deaf is True
        await next_of(ws, op, "VoiceStateUpdated")  # the deafen
        own = (await world.member.client.execute(SELF, {"m": True})).ok()
        assert own["updateVoiceState"]["voiceState"] == {"selfMute": True, "selfDeaf": False}
        assert (await next_of(ws, op, "VoiceStateUpdated"))["voiceState"]["selfMute"] is True
        # The server mute outlasts the session: leaving and rejoining does not lift it.
        (await world.member.client.execute(LEAVE)).ok()
        rejoined = await join(world.member, world.voice_id)
        assert rejoined["voiceState"]["serverMute"] is True
        assert tokens(server).verify(rejoined["token"], sfu_id=sfu.id).server_mute
        member = (
            await world.owner.client.execute(
                """query($g: ID!, $u: ID!) { guild(id: $g) { member(userId: $u) {
                serverMute serverDeaf } } }""",
                {"g": world.guild_id, "u": world.member.id},
            )
        ).ok()["guild"]["member"]
        assert member == {"serverMute": True, "serverDeaf": True}


async def test_sfu_reports_make_states_and_speaking_appear(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with (
        fake_sfu(server, "eu-1") as sfu,
        live(client, world.owner) as ws,
        live(client, world.member) as member_ws,
    ):
        op = await subscribed(ws, VOICE_EVENTS)
        channel_op = await subscribed(member_ws, CHANNEL_EVENTS, {"c": world.voice_id})
        joined = await join(world.member, world.voice_id)
        grant = tokens(server).verify(joined["token"], sfu_id=sfu.id)
        await sfu.joined(grant)
        event = await next_of(ws, op, "VoiceStateUpdated")
        assert event["guildId"] == world.guild_id
        assert event["channelId"] == world.voice_id
        assert event["voiceState"]["userId"] == world.member.id
        assert (await next_of(member_ws, channel_op, "VoiceStateUpdated"))["voiceState"] == {
            "userId": world.member.id
        }
        listed = await states(world.owner.client, world.voice_id)
        assert listed == [
            {
                "userId": world.member.id,
                "channelId": world.voice_id,
                "selfMute": False,
                "selfDeaf": False,
                "serverMute": False,
                "serverDeaf": False,
                "video": False,
                "speaking": False,
                "user": {"id": world.member.id},
                "channel": {"id": world.voice_id},
            }
        ]
        await sfu.report(
            signals.SpeakingChanged(
                sfu_id=sfu.id,
                session_id=grant.session_id,
                user_id=grant.user_id,
                guild_id=grant.guild_id,
                channel_id=grant.channel_id,
                speaking=True,
            )
        )
        speaking = await next_of(ws, op, "SpeakingUpdated")
        assert speaking == {
            "__typename": "SpeakingUpdated",
            "guildId": world.guild_id,
            "channelId": world.voice_id,
            "userId": world.member.id,
            "speaking": True,
        }
        assert (await next_of(member_ws, channel_op, "SpeakingUpdated"))["speaking"] is True
        await sfu.report(
            signals.VideoChanged(
                sfu_id=sfu.id,
                session_id=grant.session_id,
                user_id=grant.user_id,
                guild_id=grant.guild_id,
                channel_id=grant.channel_id,
                video=True,
            )
        )
        assert (await next_of(ws, op, "VoiceStateUpdated"))["voiceState"]["video"] is True
        guild = (await world.owner.client.execute(GUILD_STATES, {"g": world.guild_id})).ok()
        assert guild["guild"]["voiceStates"] == [
            {"userId": world.member.id, "channelId": world.voice_id, "speaking": True}
        ]
        # A report for a session the API never issued: the SFU is told to drop it.
        await sfu.report(
            signals.MemberJoined(
                sfu_id=sfu.id,
                session_id=12345,
                user_id=int(world.owner.id),
                guild_id=grant.guild_id,
                channel_id=grant.channel_id,
            )
        )
        stale = await sfu.command(signals.Disconnect)
        assert stale.session_id == 12345
        await sfu.report(
            signals.MemberLeft(
                sfu_id=sfu.id,
                session_id=grant.session_id,
                user_id=grant.user_id,
                guild_id=grant.guild_id,
                channel_id=grant.channel_id,
            )
        )
        left = await next_of(ws, op, "VoiceStateUpdated")
        assert left["userId"] == world.member.id and left["voiceState"] is None
        assert await states(world.owner.client, world.voice_id) == []


async def test_move_and_disconnect_by_a_moderator(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    other = (
        await world.owner.client.execute(CREATE_VOICE, {"g": world.guild_id, "n": "Other"})
    ).ok()["createChannel"]["channel"]["id"]
    async with (
        fake_sfu(server, "eu-1") as sfu,
        live(client, world.member) as member_ws,
        live(client, world.owner) as owner_ws,
    ):
        member_op = await subscribed(member_ws, VOICE_EVENTS)
        owner_op = await subscribed(owner_ws, VOICE_EVENTS)
        grant = await connected(server, sfu, world, world.member)
        await next_of(member_ws, member_op, "VoiceStateUpdated")
        await next_of(owner_ws, owner_op, "VoiceStateUpdated")
        denied = await world.member.client.execute(
            MOVE, {"g": world.guild_id, "u": world.member.id, "c": other}
        )
        assert denied.codes == ["FORBIDDEN"]
        moved = (
            await world.owner.client.execute(
                MOVE, {"g": world.guild_id, "u": world.member.id, "c": other}
            )
        ).ok()
        assert moved["moveVoiceMember"]["voiceState"]["channelId"] == other
        assert (await sfu.command(signals.Disconnect)).session_id == grant.session_id
        server_update = await next_of(member_ws, member_op, "VoiceServerUpdated")
        assert server_update["channelId"] == other
        new_grant = tokens(server).verify(server_update["token"], sfu_id=sfu.id)
        assert str(new_grant.channel_id) == other and new_grant.session_id != grant.session_id
        # Only the moved member receives the credentials; the guild sees them leave.
        left = await next_of(owner_ws, owner_op, "VoiceStateUpdated")
        assert left["voiceState"] is None and left["channelId"] == world.voice_id
        await sfu.joined(new_grant)
        arrived = await next_of(owner_ws, owner_op, "VoiceStateUpdated")
        assert arrived["channelId"] == other
        assert arrived["voiceState"]["userId"] == world.member.id
        out = (
            await world.owner.client.execute(
                KICK_FROM_VOICE, {"g": world.guild_id, "u": world.member.id}
            )
        ).ok()
        assert out["disconnectVoiceMember"]["voiceState"]["userId"] == world.member.id
        assert (await sfu.command(signals.Disconnect)).session_id == new_grant.session_id
        gone = await next_of(owner_ws, owner_op, "VoiceStateUpdated")
        assert gone["voiceState"] is None and gone["channelId"] == other
        again = await world.owner.client.execute(
            KICK_FROM_VOICE, {"g": world.guild_id, "u": world.member.id}
        )
        assert again.codes == ["NOT_FOUND"]


async def test_two_regions_and_a_region_change_moves_the_members(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    us_channel = (
        await world.owner.client.execute(
            CREATE_VOICE, {"g": world.guild_id, "n": "US room", "r": "us"}
        )
    ).ok()["createChannel"]["channel"]
    assert us_channel["voiceRegion"] == "us"
    async with (
        fake_sfu(server, "eu-1", region="eu") as eu,
        fake_sfu(server, "us-1", region="us") as us,
        live(client, world.member) as ws,
    ):
        op = await subscribed(ws, VOICE_EVENTS)
        in_us = await join(world.owner, us_channel["id"])
        assert (in_us["region"], in_us["sfuUrl"]) == ("us", us.instance.url)
        grant = await connected(server, eu, world, world.member)
        await next_of(ws, op, "VoiceStateUpdated")
        (await world.owner.client.execute(SET_REGION, {"c": world.voice_id, "r": "us"})).ok()
        assert (await eu.command(signals.Disconnect)).session_id == grant.session_id
        update = await next_of(ws, op, "VoiceServerUpdated")
        assert (update["region"], update["sfuUrl"]) == ("us", us.instance.url)
        new_grant = tokens(server).verify(update["token"], sfu_id=us.id)
        assert str(new_grant.channel_id) == world.voice_id


BAN = """mutation($g: ID!, $u: ID!) { banMember(input: {guildId: $g, userId: $u}) {
  ban { userId } } }"""
DENY_CONNECT = """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {channelId: $c,
  targetType: MEMBER, targetId: $u, deny: [VOICE_CONNECT]}) { overwrite { targetId } } }"""
DENY_SPEAK = """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {channelId: $c,
  targetType: MEMBER, targetId: $u, deny: [VOICE_SPEAK]}) { overwrite { targetId } } }"""


async def test_losing_voice_connect_or_a_ban_drops_the_member_and_speak_reaches_the_sfu(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    async with fake_sfu(server, "eu-1") as sfu:
        grant = await connected(server, sfu, world, world.member)
        (
            await world.owner.client.execute(
                DENY_SPEAK, {"c": world.voice_id, "u": world.member.id}
            )
        ).ok()
        rights = await sfu.command(signals.SetRights)
        assert (rights.session_id, rights.can_speak, rights.can_video) == (
            grant.session_id,
            False,
            True,
        )
        (
            await world.owner.client.execute(
                DENY_CONNECT, {"c": world.voice_id, "u": world.member.id}
            )
        ).ok()
        assert (await sfu.command(signals.Disconnect)).session_id == grant.session_id
        assert await states(world.owner.client, world.voice_id) == []

        third = await make_world_member(world, client)
        grant = await connected(server, sfu, world, third)
        (await world.owner.client.execute(BAN, {"g": world.guild_id, "u": third.id})).ok()
        assert (await sfu.command(signals.Disconnect)).session_id == grant.session_id
        assert await states(world.owner.client, world.voice_id) == []


async def test_voice_states_of_a_hidden_channel_stay_hidden(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    hidden = (
        await world.owner.client.execute(CREATE_VOICE, {"g": world.guild_id, "n": "Staff"})
    ).ok()["createChannel"]["channel"]["id"]
    (
        await world.owner.client.execute(
            """mutation($c: ID!, $u: ID!) { setChannelPermissionOverwrite(input: {channelId: $c,
            targetType: MEMBER, targetId: $u, deny: [VIEW_CHANNELS]}) { overwrite { targetId } } }""",
            {"c": hidden, "u": world.member.id},
        )
    ).ok()
    async with fake_sfu(server, "eu-1") as sfu, live(client, world.member) as ws:
        op = await subscribed(ws, VOICE_EVENTS)
        secret = await join(world.owner, hidden)
        await sfu.joined(tokens(server).verify(secret["token"], sfu_id=sfu.id))
        # The member sees the owner's state in no list and no event; their own join arrives.
        await connected(server, sfu, world, world.member)
        event = await next_of(ws, op, "VoiceStateUpdated")
        assert event["userId"] == world.member.id
        guild = (await world.member.client.execute(GUILD_STATES, {"g": world.guild_id})).ok()
        assert [s["userId"] for s in guild["guild"]["voiceStates"]] == [world.member.id]
        owners = (await world.owner.client.execute(GUILD_STATES, {"g": world.guild_id})).ok()
        assert sorted(s["userId"] for s in owners["guild"]["voiceStates"]) == sorted(
            [world.owner.id, world.member.id]
        )
        hidden_states = await world.member.client.execute(CHANNEL_STATES, {"c": hidden})
        assert hidden_states.codes == ["NOT_FOUND"]
