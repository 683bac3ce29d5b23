"""Runs the real app with uvicorn on 127.0.0.1:0 inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from opentelemetry.sdk.trace.export import SpanExporter

from gochat.app import create_app
from gochat.cli import websocket_options
from gochat.config import Settings
from gochat.domain.services import Services


@dataclass
class RunningServer:
    url: str
    settings: Settings
    app: Any

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


@asynccontextmanager
async def run_server(
    settings: Settings, *, span_exporter: SpanExporter | None = None, **uvicorn_options: Any
) -> AsyncIterator[RunningServer]:
    """The app as `gochat serve` runs it (same WebSocket options), `uvicorn_options` aside;
    traced into `span_exporter` when given."""
    # Bound first, as `gochat serve --port 0` does, so that the settings (and the links in
    # mails, which default to the address served) name the port actually used.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        settings = settings.model_copy(update={"host": "127.0.0.1", "port": port})
        app = create_app(settings, span_exporter=span_exporter)
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            **{**websocket_options(settings), **uvicorn_options},
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server stopped during startup")
                await asyncio.sleep(0.01)
            yield RunningServer(url=f"http://127.0.0.1:{port}", settings=settings, app=app)
        finally:
            server.should_exit = True
            await task
