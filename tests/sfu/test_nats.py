"""Reports and commands over NATS, as between an SFU process and API processes at scale."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from gochat.bus import Envelope
from gochat.bus.nats import NatsEventBus
from gochat.sfu.server import SfuServer
from gochat.sfu.service import Sfu, SfuConfig
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from tests.sfu.conftest import CHANNEL, GUILD, ISSUER, SECRET
from tests.support.engines import NatsServer
from tests.support.voice import VoiceClient, wait_until

pytestmark = pytest.mark.timeout(60)


async def test_an_sfu_reports_and_obeys_over_nats(nats_engine: NatsServer) -> None:
    sfu_id = f"sfu-{uuid.uuid4().hex[:8]}"
    sfu_bus = await NatsEventBus.connect(nats_engine.url)
    api_bus = await NatsEventBus.connect(nats_engine.url)
    tokens = VoiceTokens(secret=SECRET, issuer=ISSUER)
    reports: list[signals.Report] = []
    subscription = await api_bus.subscribe(signals.sfu_reports())

    async def collect() -> None:
        async for envelope in subscription:
            report = signals.decode_report(envelope.payload)
            if report is not None and report.sfu_id == sfu_id:
                reports.append(report)

    collector = asyncio.create_task(collect())
    server = SfuServer(
        Sfu(bus=sfu_bus, tokens=tokens, config=SfuConfig(sfu_id=sfu_id, region="r", url="u"))
    )
    await server.start()
    token, _ = tokens.issue(
        user_id=31,
        guild_id=GUILD,
        channel_id=CHANNEL,
        sfu_id=sfu_id,
        session_id=32,
        can_speak=True,
        can_video=False,
    )
    client = VoiceClient(f"ws://127.0.0.1:{server.port}/sfu", token)
    try:
        await wait_until(lambda: any(isinstance(r, signals.Heartbeat) for r in reports))
        assert (await client.join())["op"] == "joined"
        await wait_until(lambda: any(isinstance(r, signals.MemberJoined) for r in reports))
        command = signals.Disconnect(session_id=32, user_id=31, reason="banned")
        await api_bus.publish(
            [Envelope(signals.sfu_commands(sfu_id), 1, signals.encode(command))], durable=False
        )
        await wait_until(lambda: client.close_code == 4000)
        await wait_until(
            lambda: any(isinstance(r, signals.MemberLeft) and r.session_id == 32 for r in reports)
        )
    finally:
        await client.close()
        await server.stop()
        await subscription.close()
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        await sfu_bus.close()
        await api_bus.close()
