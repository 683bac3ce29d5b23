"""`gochat serve | worker | sfu | migrate | config | export-schema`, and the `tools` and
`search` groups (`gochat/cli/tools.py`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click
import structlog
import uvicorn

from gochat import supervisor
from gochat.app import create_app
from gochat.cli.bench import bench
from gochat.cli.common import guarded, settings_or_exit
from gochat.cli.tools import search, tools
from gochat.config import CONFIG_FILE_ENV, ConfigError, Settings
from gochat.graphql_schema import schema_sdl
from gochat.logs import configure
from gochat.metrics import MetricsEndpoint, ScrapeTimeFigures
from gochat.storage.sql import migrate as sql_migrate
from gochat.subscriptions.server_protocol import LeanWebSocketProtocol
from gochat.supervisor import reuse_port_socket
from gochat.wiring import (
    build_services,
    build_store,
    open_bus,
    open_message_store,
    open_sfu_registry,
)


def websocket_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's WebSocket settings for the app (`serve`, and the tests' servers)."""
    return {
        # The sans-I/O protocol lets the transport write frames without a task per socket;
        # the subclass holds less per idle socket.
        "ws": LeanWebSocketProtocol,
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        # One limit for HTTP bodies and WebSocket messages (uvicorn's default is 16 MiB);
        # a bigger message closes the socket with 1009. With permessage-deflate it counts
        # the decompressed size.
        "ws_max_size": settings.request_max_bytes,
    }


@click.group()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"TOML or YAML settings file (same as {CONFIG_FILE_ENV}).",
)
def main(config_file: Path | None) -> None:
    """GoChat: a real-time chat and voice backend with one GraphQL schema."""
    if config_file is not None:
        os.environ[CONFIG_FILE_ENV] = str(config_file)


@main.command()
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="TCP port (default 8000; 0 picks a free one).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--workers",
    "processes",
    type=click.IntRange(1, 256),
    default=1,
    help="API processes on the one port (SO_REUSEPORT); above 1 needs the NATS bus.",
)
@click.option("--reuse-port", is_flag=True, hidden=True)
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    processes: int,
    reuse_port: bool,  # noqa: FBT001 - a click flag
) -> None:
    """Run the API server (embedded defaults need no configuration)."""
    settings = settings_or_exit(host=host, port=port, data_dir=data_dir)
    configure(level=settings.log_level, fmt=settings.log_format)
    if processes > 1:
        _supervise(settings, processes)
        return
    sockets = None
    if reuse_port:
        listener = reuse_port_socket(settings.host, settings.port)
        listener.listen(2048)
        sockets = [listener]
    elif settings.port == 0:
        # Bind before the app is built, so that the port picked here is the one in the
        # settings (and in the links that mails carry).
        listener = _bind(settings.host)
        sockets = [listener]
        settings = settings.model_copy(update={"port": listener.getsockname()[1]})
        # uvicorn names no address for a socket handed to it: say which port was picked.
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        _notice(settings, f"listening on http://{host}:{settings.port}")
    if settings.public_url is None and settings.host in {"", "0.0.0.0", "::"}:  # noqa: S104
        _notice(
            settings,
            f"mailed links will point at {settings.effective_public_url()}; "
            "set GOCHAT_PUBLIC_URL to the address users reach",
        )
    app = guarded(lambda: create_app(settings))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Our handlers (gochat.logs) format uvicorn's records; the access line is the app's own
        # (with the request id, the GraphQL operation and the latency).
        log_config=None,
        access_log=False,
        lifespan="on",
        **websocket_options(settings),
        proxy_headers=settings.trust_forwarded_for,
        loop="auto",  # uvloop when installed (uvicorn[standard] brings it)
        # Without a bound, one client that never finishes its request body keeps a stopping
        # process alive for good (uvicorn waits for every connection by default).
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    server = _DrainingServer(config, app, unready_seconds=settings.shutdown_unready_seconds)
    try:
        server.run(sockets=sockets)
    except ConfigError as exc:
        _notice(settings, str(exc), error=True)
        sys.exit(2)
    if not server.started:
        sys.exit(1)


@main.command()
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="TCP port (default 8001; 0 picks a free one).")
@click.option("--id", "sfu_id", help="This SFU's id (default sfu-local).")
@click.option("--region", help="Voice region served (default: the first voice region).")
@click.option("--public-url", help="Signaling URL clients dial.")
@click.option("--ice-host", "ice_hosts", multiple=True, help="ICE host candidate address.")
def sfu(  # noqa: PLR0917 - one parameter per click option
    host: str | None,
    port: int | None,
    sfu_id: str | None,
    region: str | None,
    public_url: str | None,
    ice_hosts: tuple[str, ...],
) -> None:
    """Run a voice SFU (WebSocket signaling, WebRTC media) reporting on the bus."""
    settings = settings_or_exit(
        sfu_host=host,
        sfu_port=port,
        sfu_id=sfu_id,
        sfu_region=region,
        sfu_public_url=public_url,
        sfu_ice_hosts=list(ice_hosts) or None,
    )
    configure(level=settings.log_level, fmt=settings.log_format)
    sockets = None
    bound = settings.sfu_port
    if bound == 0:
        listener = _bind(settings.sfu_host)
        sockets = [listener]
        bound = listener.getsockname()[1]
        click.echo(f"gochat: SFU listening on {settings.sfu_host}:{bound}", err=True)
    from gochat.sfu import server as sfu_server  # noqa: PLC0415 - aiortc only for `gochat sfu`

    app = guarded(
        lambda: sfu_server.standalone_app(settings, open_bus, open_sfu_registry, port=bound)
    )
    config = uvicorn.Config(
        app,
        host=settings.sfu_host,
        port=bound,
        log_level=settings.log_level,
        lifespan="on",
        ws="websockets-sansio",
        loop="auto",
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(1)


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, stopping in the order balancers need: on SIGTERM /ready fails first
    (for `unready_seconds`, serving as before), then the listener closes, WebSockets are closed
    with 1012 and in-flight requests get the grace period; a stop on a signal exits 0."""

    def __init__(self, config: uvicorn.Config, app: Any, *, unready_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._unready_seconds = unready_seconds
        self._stop_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's: it records the signal to raise it again after the shutdown, which
        # would make the exit status -SIGTERM instead of 0.
        if self._stop_at is not None:
            if sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            return
        self._app.state.draining = True
        self._stop_at = time.monotonic() + self._unready_seconds
        structlog.get_logger("gochat.cli").info(
            "gochat.stopping",
            signal=signal.Signals(sig).name,
            unready_seconds=self._unready_seconds,
        )

    async def on_tick(self, counter: int) -> bool:
        if self._stop_at is not None and time.monotonic() >= self._stop_at:
            self.should_exit = True
        return await super().on_tick(counter)


def _notice(settings: Settings, message: str, *, error: bool = False) -> None:
    """A line for the operator starting the process: plain text, or a JSON log line."""
    if settings.log_format == "json":
        logger = structlog.get_logger("gochat.cli")
        (logger.error if error else logger.info)(message)
    else:
        click.echo(f"gochat: {message}", err=True)


def _supervise(settings: Settings, processes: int) -> None:
    problem = supervisor.check(settings, processes)
    if problem is not None:
        _notice(settings, problem, error=True)
        sys.exit(2)
    os.environ["GOCHAT_DATA_DIR"] = str(settings.data_dir)
    runner = supervisor.Supervisor(settings, processes)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    _notice(settings, f"{processes} processes listening on http://{host}:{runner.port}")
    sys.exit(runner.run())


def _bind(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, 0), family=family, backlog=2048)
    except OSError as exc:
        click.echo(f"gochat: cannot listen on {host}: {exc}", err=True)
        sys.exit(1)


@main.command()
@click.argument("name")
def worker(name: str) -> None:
    """Run one worker kind (e.g. `media`) until stopped; start as many as the load needs.
    Set GOCHAT_WORKERS_IN_PROCESS=false on the API processes when workers run this way."""
    settings = settings_or_exit()
    configure(level=settings.log_level, fmt=settings.log_format)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with build_services(settings, run_workers=[name]):
            stop_metrics = _worker_metrics(settings)
            click.echo(f"gochat: worker {name} running", err=True)
            try:
                await stop.wait()
            finally:
                await asyncio.to_thread(stop_metrics)

    guarded(lambda: asyncio.run(run()))


def _worker_metrics(settings: Settings) -> Callable[[], None]:
    """A worker's /metrics on GOCHAT_WORKER_METRICS_PORT (it has no API to serve them on)."""
    if settings.worker_metrics_port is None:
        return lambda: None
    endpoint = MetricsEndpoint(ScrapeTimeFigures(lambda: ()))
    try:
        return endpoint.serve_in_thread(settings.host, settings.worker_metrics_port)
    except OSError as exc:
        raise ConfigError(
            f"invalid setting GOCHAT_WORKER_METRICS_PORT: cannot listen on "
            f"{settings.host}:{settings.worker_metrics_port} ({exc})"
        ) from exc


@main.command()
@click.argument("action", type=click.Choice(["up", "down", "current"]), default="up")
@click.argument("steps", type=int, required=False)
def migrate(action: str, steps: int | None) -> None:
    """Apply (up), roll back (down N) or show (current) SQL migrations."""
    settings = settings_or_exit()

    async def run() -> None:
        store = build_store(settings)
        try:
            if action == "up":
                await sql_migrate.upgrade(store.engines.write)
                click.echo(f"at revision {await sql_migrate.current(store.engines.write)}")
                if settings.messages_url is not None:
                    async with open_message_store(settings, store.messages, migrate=True):
                        click.echo("message store (CQL) migrated")
            elif action == "down":
                if steps is None or steps < 1:
                    raise click.UsageError("down needs a number of steps >= 1")
                await sql_migrate.downgrade(store.engines.write, steps)
                click.echo(f"at revision {await sql_migrate.current(store.engines.write)}")
            else:
                now = await sql_migrate.current(store.engines.write)
                click.echo(f"current: {now or 'none'}; head: {sql_migrate.head()}")
        finally:
            await store.close()

    guarded(lambda: asyncio.run(run()))


@main.command("config")
def show_config() -> None:
    """Print the effective configuration, secrets redacted."""
    click.echo(json.dumps(settings_or_exit().redacted(), indent=2, sort_keys=True))


@main.command("export-schema")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
def export_schema(output: Path | None) -> None:
    """Print the GraphQL schema (SDL), or write it to --output."""
    sdl = schema_sdl()
    if output is None:
        click.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")


main.add_command(tools)
main.add_command(search)
main.add_command(bench)
