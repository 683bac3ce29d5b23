"""The signaling socket refuses bad tokens and bad messages with stable codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from websockets.asyncio.client import connect

from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from tests.sfu.conftest import CHANNEL, GUILD, ISSUER, SECRET, Voice
from tests.support.voice import VoiceClient

pytestmark = pytest.mark.timeout(60)


async def refused(voice: Voice, token: str) -> VoiceClient:
    client = VoiceClient(voice.url, token)
    try:
        first = await client.join()
    finally:
        await client.close()
    assert first["op"] == "error" and first["code"] == "UNAUTHENTICATED", first
    assert client.close_code == 4401
    return client


def issue(tokens: VoiceTokens, **options: object) -> str:
    defaults: dict[str, object] = {
        "user_id": 5,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "sfu_id": "sfu-test",
        "session_id": 6,
        "can_speak": True,
        "can_video": True,
    }
    defaults.update(options)
    token, _ = tokens.issue(**defaults)  # type: ignore[arg-type]
    return token


async def test_bad_expired_and_foreign_tokens_are_refused(voice: Voice) -> None:
    await refused(voice, "not-a-token")
    past = datetime.now(UTC) - timedelta(minutes=10)
    await refused(voice, issue(voice.tokens, now=past))
    await refused(voice, issue(voice.tokens, sfu_id="sfu-elsewhere"))
    await refused(voice, issue(VoiceTokens(secret="x" * 48, issuer=ISSUER)))
    await refused(voice, issue(VoiceTokens(secret=SECRET, issuer="someone-else")))
    assert not voice.reported(signals.MemberJoined)
    assert not voice.sfu.members


async def test_the_first_message_must_be_a_join(voice: Voice) -> None:
    async with connect(voice.url) as ws:
        await ws.send(json.dumps({"op": "offer", "sdp": "v=0"}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "BAD_USER_INPUT"
        await ws.wait_closed()
        assert ws.close_code == 4400


async def test_bad_messages_get_errors_and_the_socket_stays(voice: Voice) -> None:
    token, _, _ = voice.token()
    async with connect(voice.url) as ws:
        await ws.send(json.dumps({"op": "join", "token": token}))
        assert json.loads(await ws.recv())["op"] == "joined"
        for bad in (
            "[1]",
            "{",
            json.dumps({"op": "dance"}),
            json.dumps({"op": "answer", "sdp": "v=0"}),
            json.dumps({"op": "offer", "sdp": "v=0"}),
            json.dumps({"op": "candidate", "candidate": 3}),
            json.dumps({"op": "candidate", "candidate": {"candidate": "candidate:garbage"}}),
            json.dumps({"op": "candidate", "candidate": {"candidate": CANDIDATE, "sdpMid": "9"}}),
        ):
            await ws.send(bad)
            reply = await next_reply(ws)
            assert reply["op"] == "error" and reply["code"] in {"BAD_USER_INPUT", "CONFLICT"}, (
                bad,
                reply,
            )
        await ws.send(
            json.dumps({"op": "candidate", "candidate": {"candidate": CANDIDATE, "sdpMid": "0"}})
        )
        await ws.send(json.dumps({"op": "ping", "t": 42}))
        assert await next_reply(ws) == {"op": "pong", "t": 42}  # the good candidate: no reply


CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"


async def next_reply(ws) -> dict:
    """The next message that is not the SFU's own offer (it offers as soon as one joins)."""
    while True:
        message = json.loads(await ws.recv())
        if message["op"] != "offer":
            return message
