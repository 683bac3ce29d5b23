"""The embedded SFU: mounted on another app's server, started by that app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gochat.bus.memory import MemoryEventBus
from gochat.config import Settings
from gochat.discovery import SfuInstance
from gochat.discovery.memory import MemorySfuRegistry
from gochat.sfu.server import EmbeddedSfu
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from tests.sfu.conftest import CHANNEL, GUILD, ISSUER, SECRET
from tests.support.voice import VoiceClient, wait_until

pytestmark = pytest.mark.timeout(60)


async def test_the_embedded_sfu_shares_the_apps_port_and_bus(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, sfu_id="embedded", public_url="https://chat.example")
    embedded = EmbeddedSfu(settings)
    assert embedded.config.url == "wss://chat.example/sfu"
    assert embedded.config.region == settings.voice_regions[0]
    bus = MemoryEventBus()
    tokens = VoiceTokens(secret=SECRET, issuer=ISSUER)
    reports = await bus.subscribe(signals.sfu_reports())

    async def home(_: Request) -> PlainTextResponse:
        return PlainTextResponse("api")

    registry = MemorySfuRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await embedded.start(bus, tokens, registry=registry)
        try:
            yield
        finally:
            await embedded.stop()

    app = Starlette(routes=[Route("/", home), *embedded.routes()], lifespan=lifespan)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    clients: list[VoiceClient] = []
    try:
        await wait_until(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        for user in (1, 2):
            token, _ = tokens.issue(
                user_id=user,
                guild_id=GUILD,
                channel_id=CHANNEL,
                sfu_id="embedded",
                session_id=10 + user,
                can_speak=True,
                can_video=False,
            )
            client = VoiceClient(f"ws://127.0.0.1:{port}/sfu", token)
            clients.append(client)
            assert (await client.join())["op"] == "joined"
        await wait_until(lambda: clients[0].loud["2"] >= 10 and clients[1].loud["1"] >= 10)
        # Announced where the API looks for SFUs, with its members as load.
        for _ in range(200):
            live = await registry.live(settings.voice_regions[0])
            if live and live[0].load == 2:
                break
            await asyncio.sleep(0.05)
        assert live == [SfuInstance("embedded", "global", "wss://chat.example/sfu", 2)]
        first = signals.decode_report((await anext(aiter(reports))).payload)
        assert first is not None and first.sfu_id == "embedded"
    finally:
        for client in clients:
            await client.close()
        server.should_exit = True
        await task
        await reports.close()
    assert embedded.sfu is None
    assert await registry.live() == []  # withdrawn on stop
