"""An in-process SFU on a loopback port with the in-process bus, and a token issuer for it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gochat.bus.memory import MemoryEventBus
from gochat.sfu.server import SfuServer
from gochat.sfu.service import Sfu, SfuConfig
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from tests.support.voice import loopback_ice

SECRET = "s" * 48
ISSUER = "gochat-test"
SFU_ID = "sfu-test"
GUILD = 7001
CHANNEL = 7002

loopback_ice()


@dataclass
class Voice:
    sfu: Sfu
    bus: MemoryEventBus
    tokens: VoiceTokens
    url: str
    reports: list[signals.Report] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def token(self, user_id: int | None = None, **rights: Any) -> tuple[str, int, int]:
        """A join token for a new voice session: (token, user id, session id)."""
        session = 900_000 + next(self._ids)
        user = user_id if user_id is not None else 100 + session
        options: dict[str, Any] = {"can_speak": True, "can_video": True, "sfu_id": SFU_ID}
        options.update(rights)
        token, _ = self.tokens.issue(
            user_id=user, guild_id=GUILD, channel_id=CHANNEL, session_id=session, **options
        )
        return token, user, session

    async def command(self, command: signals.Command) -> None:
        from gochat.bus import Envelope

        await self.bus.publish(
            [Envelope(signals.sfu_commands(SFU_ID), 1, signals.encode(command))], durable=False
        )

    def reported(self, kind: type, **fields: Any) -> list[Any]:
        return [
            r
            for r in self.reports
            if isinstance(r, kind) and all(getattr(r, k) == v for k, v in fields.items())
        ]


@pytest.fixture
async def voice() -> AsyncIterator[Voice]:
    bus = MemoryEventBus()
    tokens = VoiceTokens(secret=SECRET, issuer=ISSUER)
    sfu = Sfu(
        bus=bus,
        tokens=tokens,
        config=SfuConfig(sfu_id=SFU_ID, region="test", url="ws://127.0.0.1/sfu"),
    )
    reports = await bus.subscribe(signals.sfu_reports(), max_pending=100_000)
    server = SfuServer(sfu)
    await server.start()
    state = Voice(sfu, bus, tokens, f"ws://127.0.0.1:{server.port}/sfu")

    async def collect() -> None:
        async for envelope in reports:
            report = signals.decode_report(envelope.payload)
            if report is not None:
                state.reports.append(report)

    collector = asyncio.create_task(collect())
    try:
        yield state
    finally:
        await server.stop()
        await reports.close()
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        await bus.close()
