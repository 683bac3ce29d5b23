"""`gochat serve | worker | migrate | config | export-schema | search | tools`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click
import structlog
import uvicorn

from gochat import supervisor
from gochat.app import create_app
from gochat.bus.codec import event_type
from gochat.config import CONFIG_FILE_ENV, ConfigError, Settings, load_settings
from gochat.domain import permissions
from gochat.domain.data_export import expired_archives
from gochat.domain.file_collection import FileCollector
from gochat.domain.records import Upload
from gochat.domain.search_rebuild import SearchRebuild
from gochat.errors import NotFound
from gochat.graphql_schema import schema_sdl
from gochat.ids import Snowflake, SnowflakeGenerator, parse_id
from gochat.logs import configure
from gochat.sfu import server as sfu_server
from gochat.storage.sql import migrate as sql_migrate
from gochat.supervisor import reuse_port_socket
from gochat.wiring import (
    build_services,
    build_store,
    open_blob_store,
    open_bus,
    open_lifecycle,
    open_message_store,
    open_search_index,
    open_sfu_registry,
)
from gochat.workers.runner import replay_parked


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        click.echo(f"gochat: {exc}", err=True)
        sys.exit(2)


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ConfigError as exc:
        click.echo(f"gochat: {exc}", err=True)
        sys.exit(2)


def websocket_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's WebSocket settings for the app (`serve`, and the tests' servers)."""
    return {
        # The sans-I/O protocol lets the transport write frames without a task per socket.
        "ws": "websockets-sansio",
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
    settings = _settings(host=host, port=port, data_dir=data_dir)
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
    app = _guard(lambda: create_app(settings))
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
    settings = _settings(
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
    app = _guard(
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
    settings = _settings()
    configure(level=settings.log_level, fmt=settings.log_format)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with build_services(settings, run_workers=[name]):
            click.echo(f"gochat: worker {name} running", err=True)
            await stop.wait()

    _guard(lambda: asyncio.run(run()))


@main.command()
@click.argument("action", type=click.Choice(["up", "down", "current"]), default="up")
@click.argument("steps", type=int, required=False)
def migrate(action: str, steps: int | None) -> None:
    """Apply (up), roll back (down N) or show (current) SQL migrations."""
    settings = _settings()

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

    _guard(lambda: asyncio.run(run()))


@main.command("config")
def show_config() -> None:
    """Print the effective configuration, secrets redacted."""
    click.echo(json.dumps(_settings().redacted(), indent=2, sort_keys=True))


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


@main.group()
def tools() -> None:
    """Operator tools."""


@tools.command("permissions")
@click.argument("mask")
def decode_permissions(mask: str) -> None:
    """Decode a permission MASK (decimal or 0x hex) into permission names."""
    try:
        value = int(mask, 0)
    except ValueError:
        click.echo(f"gochat: not a number: {mask!r}", err=True)
        sys.exit(2)
    if value < 0:
        click.echo("gochat: a mask cannot be negative", err=True)
        sys.exit(2)
    for name in permissions.names(value):
        click.echo(name)
    unknown = permissions.unknown_bits(value)
    if unknown:
        click.echo(f"gochat: unknown bits {unknown:#x}", err=True)
        sys.exit(2)


@tools.group("users")
def users_tools() -> None:
    """Accounts, by user id."""


def _set_disabled(user_id: str, *, disabled: bool) -> None:
    parsed = parse_id(user_id)
    if parsed is None:
        click.echo(f"gochat: not a user id: {user_id!r}", err=True)
        sys.exit(2)
    settings = _settings()

    async def run() -> None:
        async with open_lifecycle(settings) as lifecycle:
            await lifecycle.set_disabled_unchecked(parsed, disabled=disabled)

    try:
        _guard(lambda: asyncio.run(run()))
    except NotFound:
        click.echo(f"gochat: no such user: {parsed}", err=True)
        sys.exit(1)
    click.echo(f"user {parsed} {'disabled' if disabled else 'enabled'}")


@users_tools.command("disable")
@click.argument("user_id")
def users_disable(user_id: str) -> None:
    """Disable the account USER_ID: its sessions end and its sockets close at once, and
    neither sign-in, refresh nor a token issued before works until it is enabled again."""
    _set_disabled(user_id, disabled=True)


@users_tools.command("enable")
@click.argument("user_id")
def users_enable(user_id: str) -> None:
    """Enable the account USER_ID again: its owner may sign in (sessions ended by the
    disable stay ended)."""
    _set_disabled(user_id, disabled=False)


@tools.group("jobs")
def jobs_tools() -> None:
    """Background workers' queues and the events they parked."""


@jobs_tools.command("status")
def jobs_status() -> None:
    """Jobs waiting per worker kind (embedded queue) and parked events."""
    settings = _settings()

    async def run() -> None:
        async with build_services(settings, run_workers=()) as services:
            for name in sorted(services.workers):
                pending = await services.jobs.pending(name)
                parked = len(await services.jobs.parked(worker=name, limit=10_000))
                click.echo(f"{name}: {pending} queued, {parked} parked")

    _guard(lambda: asyncio.run(run()))


@jobs_tools.command("parked")
@click.option("--worker", "worker_name", help="Only this worker kind.")
def jobs_parked(worker_name: str | None) -> None:
    """List parked events: worker, event id, type, attempts, when, error."""
    settings = _settings()

    async def run() -> None:
        async with build_services(settings, run_workers=()) as services:
            for job in await services.jobs.parked(worker=worker_name, limit=10_000):
                click.echo(
                    f"{job.worker}\t{job.envelope.event_id}\t{event_type(job.envelope.payload)}"
                    f"\t{job.attempts}\t{job.parked_at.isoformat()}\t{job.error}"
                )

    _guard(lambda: asyncio.run(run()))


@jobs_tools.command("replay")
@click.argument("name")
@click.option("--event-id", type=int, help="Only this parked event.")
def jobs_replay(name: str, event_id: int | None) -> None:
    """Handle the parked events of worker NAME again, here; those that succeed are forgotten."""
    settings = _settings()

    async def run() -> None:
        async with build_services(settings, run_workers=()) as services:
            handler = services.workers.get(name)
            if handler is None:
                raise click.UsageError(f"no worker named {name!r}")
            replayed, failing = await replay_parked(handler, services.jobs, event_id=event_id)
            click.echo(f"replayed {replayed}, still failing {failing}")
            if failing:
                sys.exit(1)

    _guard(lambda: asyncio.run(run()))


@tools.group("blobs")
def blobs_tools() -> None:
    """Files in the blob store."""


@blobs_tools.command("gc")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; remove nothing.")
def blobs_gc(*, dry_run: bool) -> None:
    """Remove files nobody uses: expired unused uploads, files of deleted messages, replaced
    or deleted images, blobs that no upload names, and data exports whose 7-day link expired.
    Safe to run while serving."""
    settings = _settings()

    async def run() -> None:
        store = build_store(settings)
        try:
            async with (
                open_message_store(settings, store.messages, migrate=False) as (messages, _),
                open_blob_store(settings) as blobs,
            ):
                collector = FileCollector(
                    store.files,
                    blobs,
                    messages,
                    claim_grace_seconds=settings.file_claim_grace_seconds,
                )
                now = datetime.now(UTC)
                dead: list[Upload] = []
                looked_at = 0
                async for page in collector.pages():
                    looked_at += len(page)
                    dead += await collector.dead_among(page, now=now)
                orphans = [key async for key in collector.orphan_keys()]
                exports = [key async for key in expired_archives(blobs, now=now)]
                click.echo(
                    f"{looked_at} uploads, {len(dead)} unused "
                    f"({sum(u.size for u in dead)} bytes); {len(orphans)} blobs without an upload"
                )
                click.echo(f"{len(exports)} expired data exports")
                if dry_run:
                    for upload in dead:
                        click.echo(
                            f"unused upload {upload.id} ({upload.purpose.value}) {upload.key}"
                        )
                    for key in orphans:
                        click.echo(f"orphan blob {key}")
                    for key in exports:
                        click.echo(f"expired data export {key}")
                    return
                total = len(dead) + len(orphans) + len(exports)
                with click.progressbar(length=total, label="removing") as bar:
                    for upload in dead:
                        await collector.remove(upload)
                        bar.update(1)
                    for key in (*orphans, *exports):
                        await blobs.delete(key)
                        bar.update(1)
                click.echo(f"removed {len(dead)} uploads and {len(orphans)} orphan blobs")
                click.echo(f"removed {len(exports)} expired data exports")
        finally:
            await store.close()

    _guard(lambda: asyncio.run(run()))


@main.group()
def search() -> None:
    """The message search index."""


# How long writers may go on writing to the served index alone after a new one is added
# (they cache which indices take writes for this long).
REBUILD_SETTLE_SECONDS = 6.0


def _reindex_cursor(settings: Settings, guild_id: Snowflake | None) -> Path:
    scope = "all" if guild_id is None else f"guild-{guild_id}"
    return settings.data_dir / f"search-reindex-{scope}.json"


@search.command("reindex")
@click.option("--guild", "guild", help="Only this guild's channels (its id).")
@click.option("--restart", is_flag=True, help="Start over instead of resuming a stopped run.")
def search_reindex(guild: str | None, *, restart: bool) -> None:
    """Rebuild the search index from the message store: every channel (or one guild's),
    oldest message first. Safe while serving. Interrupted, it resumes where it stopped
    (its position is kept in the data directory)."""
    settings = _settings()
    guild_id = None if guild is None else parse_id(guild)
    if guild is not None and guild_id is None:
        click.echo("gochat: --guild takes a guild id", err=True)
        sys.exit(2)
    cursor = _reindex_cursor(settings, guild_id)
    resume: dict[str, Any] = {}
    if cursor.exists() and not restart:
        resume = json.loads(cursor.read_text(encoding="utf-8"))
        click.echo(f"resuming at channel {resume['channel_id']}")

    async def run() -> None:
        store = build_store(settings)
        try:
            async with (
                open_message_store(settings, store.messages, migrate=False) as (messages, _),
                open_search_index(settings, store) as index,
            ):
                rebuild = SearchRebuild(
                    index,
                    messages=messages,
                    guilds=store.guilds,
                    direct=store.direct,
                    attachments_of=store.files.attachments_of,
                    ids=SnowflakeGenerator(settings.worker_id),
                )
                generation = await index.begin_rebuild()
                if generation:
                    if guild_id is not None:
                        click.echo(
                            "gochat: the search index needs a full rebuild first (its layout "
                            "changed): run `gochat search reindex` without --guild",
                            err=True,
                        )
                        sys.exit(2)
                    click.echo("building a new index beside the one served")
                    # Writers notice the new index within this time; later changes reach both.
                    await asyncio.sleep(REBUILD_SETTLE_SECONDS)
                channels = await rebuild.channels(guild_id)
                start_channel = int(resume.get("channel_id", 0))
                indexed = 0
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                with click.progressbar(
                    channels,
                    label=f"reindexing {len(channels)} channels",
                    item_show_func=lambda _: f"{indexed} messages",
                ) as bar:
                    for channel_id in bar:
                        if channel_id < start_channel:
                            continue
                        after = None
                        if channel_id == start_channel and resume.get("message_id"):
                            after = Snowflake(int(resume["message_id"]))
                        async for position in rebuild.channel(channel_id, after=after):
                            indexed += position.indexed
                            cursor.write_text(
                                json.dumps(
                                    {
                                        "channel_id": position.channel_id,
                                        "message_id": position.message_id,
                                    }
                                ),
                                encoding="utf-8",
                            )
                await index.refresh()
                if generation:
                    await index.finish_rebuild()
                cursor.unlink(missing_ok=True)
                click.echo(f"indexed {indexed} messages in {len(channels)} channels")
        finally:
            await store.close()

    _guard(lambda: asyncio.run(run()))
