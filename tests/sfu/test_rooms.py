"""Members of one room hear each other through the SFU; rights and commands gate the media."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from gochat.voice import signals
from tests.sfu.conftest import CHANNEL, GUILD, SFU_ID, Voice
from tests.support.voice import VoiceClient, wait_until

pytestmark = pytest.mark.timeout(120)


@contextlib.asynccontextmanager
async def members(voice: Voice, *rights: dict) -> AsyncIterator[list[tuple[VoiceClient, int, int]]]:
    clients: list[tuple[VoiceClient, int, int]] = []
    try:
        for options in rights:
            token, user, session = voice.token(**options)
            client = VoiceClient(voice.url, token)
            clients.append((client, user, session))
            joined = await client.join()
            assert joined["op"] == "joined", joined
        yield clients
    finally:
        for client, _, _ in clients:
            await client.close()


async def test_members_hear_each_other_and_joins_speaking_heartbeats_reach_the_bus(
    voice: Voice,
) -> None:
    async with members(voice, {}, {}, {}) as clients:
        for client, user, _ in clients:
            for other, other_user, _ in clients:
                if other is not client:
                    await wait_until(
                        lambda c=client, u=other_user: c.loud[str(u)] >= 25,
                        what=f"{user} hears {other_user}",
                    )
        for _, user, session in clients:
            assert voice.reported(
                signals.MemberJoined,
                session_id=session,
                user_id=user,
                guild_id=GUILD,
                channel_id=CHANNEL,
                sfu_id=SFU_ID,
            )
            await wait_until(
                lambda s=session: voice.reported(
                    signals.SpeakingChanged, session_id=s, speaking=True
                ),
                what="speaking reported",
            )
        sessions = {session for _, _, session in clients}
        await wait_until(
            lambda: any(
                {m.session_id for m in hb.members} == sessions
                for hb in voice.reported(signals.Heartbeat, sfu_id=SFU_ID, region="test")
            ),
            what="a heartbeat listing the three members",
        )
        first, _, first_session = clients[0]
        await first.send({"op": "leave"})
        await wait_until(lambda: bool(voice.reported(signals.MemberLeft, session_id=first_session)))
        await wait_until(lambda: first.close_code == 1000)
        await wait_until(
            lambda: all(c.ops("member_left") for c, _, _ in clients[1:]), what="others told"
        )
        # Nothing is forwarded to it any more: no source keeps a link to the member who left.
        assert all(
            first_session not in source.links
            for member in voice.sfu.members.values()
            for source in member.sources.values()
        )


async def test_server_mute_stops_a_members_audio_and_its_speaking(voice: Voice) -> None:
    async with members(voice, {}, {}, {}) as clients:
        (_, a_user, a_session), (b, _, _), (_, c_user, _) = clients
        await wait_until(lambda: b.loud[str(a_user)] >= 25 and b.loud[str(c_user)] >= 25)
        await wait_until(lambda: voice.sfu.members[a_session].speaking)
        await voice.command(
            signals.SetServerState(
                session_id=a_session, user_id=a_user, server_mute=True, server_deaf=False
            )
        )
        await wait_until(
            lambda: voice.reported(signals.SpeakingChanged, session_id=a_session, speaking=False)
        )
        await wait_until(lambda: any(m.get("serverMute") for m in b.ops("member_state")))
        # Whatever was in flight has played out once C has been heard for another second.
        heard_a, heard_c = b.frames[str(a_user)], b.frames[str(c_user)]
        await wait_until(lambda: b.loud[str(c_user)] >= heard_c + 50)
        settled = b.frames[str(a_user)]
        assert settled - heard_a <= 15
        await wait_until(lambda: b.loud[str(c_user)] >= heard_c + 100)
        assert b.frames[str(a_user)] == settled, "a muted member's audio still arrives"
        # Unmuted, it is heard again.
        await voice.command(
            signals.SetServerState(
                session_id=a_session, user_id=a_user, server_mute=False, server_deaf=False
            )
        )
        await wait_until(lambda: b.loud[str(a_user)] >= settled + 25)


async def test_without_can_speak_nothing_is_forwarded(voice: Voice) -> None:
    async with members(voice, {}, {}, {"can_speak": False}) as clients:
        (a, a_user, _), (b, b_user, _), (_, mute_user, mute_session) = clients
        await wait_until(lambda: a.loud[str(b_user)] >= 100 and b.loud[str(a_user)] >= 100)
        assert a.frames[str(mute_user)] == 0 and b.frames[str(mute_user)] == 0
        assert not voice.reported(signals.SpeakingChanged, session_id=mute_session)
        # Granted VOICE_SPEAK later, it is heard.
        await voice.command(
            signals.SetRights(
                session_id=mute_session, user_id=mute_user, can_speak=True, can_video=False
            )
        )
        await wait_until(lambda: a.loud[str(mute_user)] >= 25)


async def test_a_deafened_member_receives_nothing_but_is_heard(voice: Voice) -> None:
    async with members(voice, {}, {"server_deaf": True}) as clients:
        (a, a_user, _), (deaf, deaf_user, deaf_session) = clients
        await wait_until(lambda: a.loud[str(deaf_user)] >= 100)
        assert deaf.frames[str(a_user)] == 0
        await voice.command(
            signals.SetServerState(
                session_id=deaf_session, user_id=deaf_user, server_mute=False, server_deaf=False
            )
        )
        await wait_until(lambda: deaf.loud[str(a_user)] >= 25, what="undeafened hears")


async def test_disconnect_closes_the_member(voice: Voice) -> None:
    async with members(voice, {}, {}) as clients:
        (a, a_user, a_session), (b, _, _) = clients
        await wait_until(lambda: b.loud[str(a_user)] >= 10)
        await voice.command(
            signals.Disconnect(session_id=a_session, user_id=a_user, reason="kicked")
        )
        await wait_until(lambda: a.close_code == 4000, what="closed with 4000")
        assert a.ops("disconnected") == [{"op": "disconnected", "reason": "kicked"}]
        await wait_until(lambda: bool(voice.reported(signals.MemberLeft, session_id=a_session)))
        assert a_session not in voice.sfu.members
        await wait_until(lambda: bool(b.ops("member_left")))


async def test_a_command_for_another_user_is_ignored(voice: Voice) -> None:
    async with members(voice, {}) as clients:
        ((a, a_user, a_session),) = clients
        await voice.command(
            signals.Disconnect(session_id=a_session, user_id=a_user + 1, reason="x")
        )
        await a.send({"op": "ping", "t": 1})
        await wait_until(lambda: bool(a.ops("pong")))
        assert a_session in voice.sfu.members and a.close_code is None


async def test_members_leaving_at_once_all_leave(voice: Voice) -> None:
    async with members(voice, *({} for _ in range(5))) as clients:
        await wait_until(lambda: all(len(c.loud) == 4 for c, _, _ in clients), what="all hear all")
        await asyncio.gather(*(c.send({"op": "leave"}) for c, _, _ in clients))
        sessions = {session for _, _, session in clients}
        await wait_until(
            lambda: {r.session_id for r in voice.reported(signals.MemberLeft)} == sessions,
            what="every member reported gone",
        )
        assert not voice.sfu.members and not voice.sfu.rooms


async def test_vp8_video_is_forwarded_only_with_can_video(voice: Voice) -> None:
    token_a, a_user, _ = voice.token()
    token_b, b_user, _ = voice.token(can_video=False)
    token_c, _, _ = voice.token()
    a = VoiceClient(voice.url, token_a, video=True)
    b = VoiceClient(voice.url, token_b, video=True)
    c = VoiceClient(voice.url, token_c)
    try:
        for client in (a, b, c):
            assert (await client.join())["op"] == "joined"
        # C decodes A's VP8 (a keyframe was asked for when C's link came up); B's never comes.
        await wait_until(lambda: c.video_frames[str(a_user)] >= 10, what="A's video at C")
        await wait_until(lambda: c.loud[str(b_user)] >= 50, what="B's audio at C")
        assert c.video_frames[str(b_user)] == 0
        await wait_until(lambda: b.video_frames[str(a_user)] >= 10, what="A's video at B")
        # Who sends video is reported: A does; B's camera is on but nothing of it goes out.
        await wait_until(
            lambda: bool(voice.reported(signals.VideoChanged, user_id=a_user, video=True))
        )
        assert not voice.reported(signals.VideoChanged, user_id=b_user)
    finally:
        for client in (a, b, c):
            await client.close()


async def test_members_joining_together_late_each_get_a_keyframe_of_the_video(
    voice: Voice,
) -> None:
    # Late joiners' first offer holds two video m-lines (their own upstream and A's video),
    # and each link to A asks A for a keyframe, at most every 500 ms per source: a request
    # that comes too soon after another must be sent later, not dropped, or that receiver
    # waits for a keyframe that never comes.
    token_a, a_user, a_session = voice.token()
    a = VoiceClient(voice.url, token_a, video=True)
    late = [VoiceClient(voice.url, voice.token()[0]) for _ in range(3)]
    try:
        assert (await a.join())["op"] == "joined"
        await wait_until(
            lambda: (
                "video" in voice.sfu.members[a_session].sources
                and voice.sfu.members[a_session].sources["video"].packets >= 30
            ),
            what="A's video reaching the SFU",
        )
        joined = await asyncio.gather(*(client.join() for client in late))
        assert [j["op"] for j in joined] == ["joined"] * 3
        for client in late:
            await wait_until(lambda c=client: c.video_frames[str(a_user)] >= 10, what="A's video")
    finally:
        for client in (a, *late):
            await client.close()


async def test_silence_is_not_speaking(voice: Voice) -> None:
    token_quiet, quiet_user, quiet_session = voice.token()
    quiet = VoiceClient(voice.url, token_quiet, silent=True)
    try:
        async with members(voice, {}) as clients:
            ((loud, loud_user, loud_session),) = clients
            assert (await quiet.join())["op"] == "joined"
            await wait_until(lambda: loud.frames[str(quiet_user)] >= 100, what="silence heard")
            await wait_until(lambda: quiet.loud[str(loud_user)] >= 25)
            assert voice.reported(signals.SpeakingChanged, session_id=loud_session, speaking=True)
            assert not voice.reported(signals.SpeakingChanged, session_id=quiet_session)
            assert loud.loud[str(quiet_user)] == 0
    finally:
        await quiet.close()


async def test_the_same_voice_session_joining_again_replaces_the_first(voice: Voice) -> None:
    token, _, session = voice.token()
    first, second = VoiceClient(voice.url, token), VoiceClient(voice.url, token)
    try:
        assert (await first.join())["op"] == "joined"
        assert (await second.join())["op"] == "joined"
        await wait_until(lambda: first.close_code == 4409)
        assert first.ops("disconnected") == [{"op": "disconnected", "reason": "replaced"}]
        assert voice.sfu.members[session] is not None
        await second.send({"op": "ping", "t": 1})
        await wait_until(lambda: bool(second.ops("pong")))
    finally:
        await first.close()
        await second.close()


async def test_senders_get_receiver_reports_from_the_sfu(voice: Voice) -> None:
    async with members(voice, {}, {}) as clients:
        (a, _, _), (b, b_user, _) = clients
        await wait_until(lambda: a.loud[str(b_user)] >= 25)
        sender = next(t.sender for t in b.pc.getTransceivers() if t.sender.track is not None)

        async def reported() -> list:
            stats = await sender.getStats()
            return [s for s in stats.values() if s.type == "remote-inbound-rtp"]

        for _ in range(200):  # RTCP reports go out every 0.5-1.5 s
            remote = await reported()
            if remote and remote[0].packetsReceived > 0:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no receiver report reached the sender")
        assert remote[0].packetsLost == 0


async def test_stopping_the_sfu_closes_every_member(voice: Voice) -> None:
    async with members(voice, {}, {}) as clients:
        await wait_until(lambda: all(len(c.loud) == 1 for c, _, _ in clients))
        await voice.sfu.stop()
        for client, _, session in clients:
            await wait_until(lambda c=client: c.close_code == 1001)
            assert client.ops("disconnected") == [{"op": "disconnected", "reason": "shutdown"}]
            await wait_until(
                lambda s=session: bool(voice.reported(signals.MemberLeft, session_id=s))
            )
        assert not voice.sfu.members


async def test_lost_video_packets_are_asked_for_and_retransmitted(voice: Voice) -> None:
    token_a, a_user, a_session = voice.token()
    token_c, _, _ = voice.token()
    a = VoiceClient(voice.url, token_a, video=True)
    c = VoiceClient(voice.url, token_c)
    try:
        for client in (a, c):
            assert (await client.join())["op"] == "joined"
        await wait_until(lambda: c.video_frames[str(a_user)] >= 5, what="A's video at C")
        source = voice.sfu.members[a_session].sources["video"]
        forward = source.receiver._handle_rtp_packet
        seen = 0

        async def lossy(packet, arrival_time_ms):  # every 10th VP8 packet lost on the way in
            nonlocal seen
            if packet.payload_type in source._mime_by_pt:
                seen += 1
                if seen % 10 == 0:
                    return
            await forward(packet, arrival_time_ms)

        source.receiver._handle_rtp_packet = lossy
        frames = c.video_frames[str(a_user)]
        # C asks the SFU, the SFU asks A, A resends over RTX, the SFU passes it on.
        await wait_until(lambda: source.retransmissions >= 5, what="retransmissions")
        await wait_until(lambda: c.video_frames[str(a_user)] >= frames + 30, what="video goes on")
    finally:
        for client in (a, c):
            await client.close()


async def test_a_member_whose_peer_connection_closed_first_still_leaves_cleanly(
    voice: Voice,
) -> None:
    """A client that closes its peer connection before its signaling socket: the SFU's side of
    that connection closes on its own, and a renegotiation for it (another member leaving)
    must neither fail nor keep the member's departure from being reported."""
    async with members(voice, {}, {}, {}) as clients:
        (gone, _, gone_session), (leaver, _, leaver_session), _ = clients
        await wait_until(lambda: all(len(c.loud) == 2 for c, _, _ in clients), what="all hear all")
        await gone.pc.close()
        await wait_until(
            lambda: voice.sfu.members[gone_session].pc.connectionState == "closed",
            what="the SFU's side closed",
        )
        await leaver.send({"op": "leave"})  # the others are offered one link fewer
        await wait_until(
            lambda: bool(voice.reported(signals.MemberLeft, session_id=leaver_session))
        )
        await gone.send({"op": "leave"})
        await wait_until(
            lambda: bool(voice.reported(signals.MemberLeft, session_id=gone_session)),
            what="the member with the closed connection reported gone",
        )
        assert gone_session not in voice.sfu.members
