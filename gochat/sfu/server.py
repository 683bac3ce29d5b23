"""Running an SFU: on its own port (`gochat sfu`, or next to the API in one process) or mounted
on the API's server.

    sfu = Sfu(bus=bus, tokens=sfu_tokens(settings), config=sfu_config(settings))
    app.router.routes.extend(sfu.routes())   # same server: start()/stop() in its lifespan
    # or its own port: server = SfuServer(sfu, port=...); await server.start() ... stop()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from gochat.bus import EventBus
from gochat.config import Settings
from gochat.discovery import SfuRegistry
from gochat.metrics import MetricsEndpoint, ScrapeTimeFigures
from gochat.sfu.service import Sfu, SfuConfig
from gochat.voice.tokens import VoiceTokens


def sfu_tokens(settings: Settings) -> VoiceTokens:
    """The verifier for join tokens: the API signs them with the same secret and issuer."""
    return VoiceTokens(secret=settings.signing_secret(), issuer=settings.jwt_issuer)


def sfu_config(settings: Settings, *, port: int | None = None) -> SfuConfig:
    bound = settings.sfu_port if port is None else port
    host = f"[{settings.sfu_host}]" if ":" in settings.sfu_host else settings.sfu_host
    return SfuConfig(
        sfu_id=settings.sfu_id,
        region=settings.sfu_region or settings.voice_regions[0],
        url=settings.sfu_public_url or f"ws://{host}:{bound}/sfu",
        ice_hosts=tuple(settings.sfu_ice_hosts),
    )


def create_sfu_app(sfu: Sfu) -> Starlette:
    """A Starlette app serving only the SFU (signaling socket and a health check)."""

    async def health(_: Request) -> JSONResponse:
        return JSONResponse(
            {"sfuId": sfu.config.sfu_id, "region": sfu.config.region, "load": len(sfu.members)}
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await sfu.start()
        try:
            yield
        finally:
            await sfu.stop()

    return Starlette(routes=[*sfu.routes(), Route("/healthz", health)], lifespan=lifespan)


class SfuServer:
    """An SFU on its own port inside a running event loop (tests, or next to the API)."""

    def __init__(
        self, sfu: Sfu, *, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any
    ) -> None:
        self.sfu = sfu
        config = uvicorn.Config(
            create_sfu_app(sfu),
            host=host,
            port=port,
            lifespan="on",
            log_level="warning",
            ws="websockets-sansio",
            **uvicorn_options,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        servers = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the SFU server is not listening")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the SFU server did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None


def standalone_app(
    settings: Settings,
    open_bus: Callable[[Settings], contextlib.AbstractAsyncContextManager[EventBus]],
    open_registry: Callable[[str | None], contextlib.AbstractAsyncContextManager[SfuRegistry]],
    *,
    port: int | None = None,
) -> Starlette:
    """`gochat sfu`'s app: the bus is opened (and the SFU started) in the lifespan."""
    holder: dict[str, Sfu] = {}

    async def health(_: Request) -> JSONResponse:
        sfu = holder["sfu"]
        return JSONResponse(
            {"sfuId": sfu.config.sfu_id, "region": sfu.config.region, "load": len(sfu.members)}
        )

    async def serve_socket(websocket: WebSocket) -> None:
        await holder["sfu"].serve_socket(websocket)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with open_bus(settings) as bus, open_registry(settings.discovery_url) as registry:
            sfu = Sfu(
                bus=bus,
                tokens=sfu_tokens(settings),
                config=sfu_config(settings, port=port),
                registry=registry,
            )
            holder["sfu"] = sfu
            await sfu.start()
            try:
                yield
            finally:
                await sfu.stop()

    metrics = MetricsEndpoint(
        ScrapeTimeFigures(lambda: holder["sfu"].figures() if "sfu" in holder else ())
    )

    async def serve_metrics(_: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    config = sfu_config(settings, port=port)
    routes: list[BaseRoute] = [
        WebSocketRoute(config.path, serve_socket),
        Route("/healthz", health),
        *([Route("/metrics", serve_metrics)] if settings.metrics_enabled else []),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


class EmbeddedSfu:
    """The SFU that `gochat serve` runs inside the API process, on the API's own port.

    Members of one room must reach the same process: with `gochat serve --workers N` (N > 1,
    one port shared by N processes) embed it in none of them and run `gochat sfu` instead.

    Its signaling route is mounted when the app is built (`routes()`, before the bus exists);
    `start(bus)` in the app's lifespan brings it up, `stop()` closes every member. Until then
    the route refuses sockets (1013, try again later).

        embedded = EmbeddedSfu(settings)
        Starlette(routes=[..., *embedded.routes()], lifespan=...)
        # in the lifespan, once services exist:
        await embedded.start(services.bus, registry=services.sfu_registry)
        # ... yield ... finally: await embedded.stop()
    """

    def __init__(self, settings: Settings, *, path: str = "/sfu") -> None:
        public = settings.effective_public_url().rstrip("/")
        scheme, _, rest = public.partition("://")
        self.config = SfuConfig(
            sfu_id=settings.sfu_id,
            region=settings.sfu_region or settings.voice_regions[0],
            url=settings.sfu_public_url or f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}",
            path=path,
            ice_hosts=tuple(settings.sfu_ice_hosts),
        )
        self._settings = settings
        self.sfu: Sfu | None = None

    def routes(self) -> list[BaseRoute]:
        return [WebSocketRoute(self.config.path, self._serve)]

    async def _serve(self, websocket: WebSocket) -> None:
        if self.sfu is None:
            await websocket.close(1013)
            return
        await self.sfu.serve_socket(websocket)

    async def start(
        self,
        bus: EventBus,
        tokens: VoiceTokens | None = None,
        registry: SfuRegistry | None = None,
    ) -> Sfu:
        """Start serving; announce it in `registry` (the API's in-process one) if given."""
        self.sfu = Sfu(
            bus=bus,
            tokens=tokens or sfu_tokens(self._settings),
            config=self.config,
            registry=registry,
        )
        await self.sfu.start()
        return self.sfu

    async def stop(self) -> None:
        if self.sfu is not None:
            sfu, self.sfu = self.sfu, None
            await sfu.stop()
