"""Members of one room hear each other through the SFU; rights and commands gate the media."""

from __future__ import annotations

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
