"""`gochat tools ...` (operator tools) and `gochat search ...`."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from gochat.bus.codec import event_type
from gochat.cli.common import guarded, settings_or_exit
from gochat.config import Settings
from gochat.domain import permissions
from gochat.domain.data_export import expired_archives
from gochat.domain.file_collection import FileCollector
from gochat.domain.records import Upload
from gochat.domain.search_rebuild import SearchRebuild
from gochat.errors import NotFound
from gochat.ids import Snowflake, SnowflakeGenerator, parse_id
from gochat.wiring import (
    build_services,
    build_store,
    open_blob_store,
    open_lifecycle,
    open_message_store,
    open_search_index,
)
from gochat.workers.runner import replay_parked


@click.group()
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
    settings = settings_or_exit()

    async def run() -> None:
        async with open_lifecycle(settings) as lifecycle:
            await lifecycle.set_disabled_unchecked(parsed, disabled=disabled)

    try:
        guarded(lambda: asyncio.run(run()))
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
    settings = settings_or_exit()

    async def run() -> None:
        async with build_services(settings, run_workers=()) as services:
            for name in sorted(services.workers):
                pending = await services.jobs.pending(name)
                parked = len(await services.jobs.parked(worker=name, limit=10_000))
                click.echo(f"{name}: {pending} queued, {parked} parked")

    guarded(lambda: asyncio.run(run()))


@jobs_tools.command("parked")
@click.option("--worker", "worker_name", help="Only this worker kind.")
def jobs_parked(worker_name: str | None) -> None:
    """List parked events: worker, event id, type, attempts, when, error."""
    settings = settings_or_exit()

    async def run() -> None:
        async with build_services(settings, run_workers=()) as services:
            for job in await services.jobs.parked(worker=worker_name, limit=10_000):
                click.echo(
                    f"{job.worker}\t{job.envelope.event_id}\t{event_type(job.envelope.payload)}"
                    f"\t{job.attempts}\t{job.parked_at.isoformat()}\t{job.error}"
                )

    guarded(lambda: asyncio.run(run()))


@jobs_tools.command("replay")
@click.argument("name")
@click.option("--event-id", type=int, help="Only this parked event.")
def jobs_replay(name: str, event_id: int | None) -> None:
    """Handle the parked events of worker NAME again, here; those that succeed are forgotten."""
    settings = settings_or_exit()

    async def run() -> None:
        async with build_services(settings, run_workers=()) as services:
            handler = services.workers.get(name)
            if handler is None:
                raise click.UsageError(f"no worker named {name!r}")
            replayed, failing = await replay_parked(handler, services.jobs, event_id=event_id)
            click.echo(f"replayed {replayed}, still failing {failing}")
            if failing:
                sys.exit(1)

    guarded(lambda: asyncio.run(run()))


@tools.group("blobs")
def blobs_tools() -> None:
    """Files in the blob store."""


@blobs_tools.command("gc")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; remove nothing.")
def blobs_gc(*, dry_run: bool) -> None:
    """Remove files nobody uses: expired unused uploads, files of deleted messages, replaced
    or deleted images, blobs that no upload names, and data exports whose 7-day link expired.
    Safe to run while serving."""
    settings = settings_or_exit()

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

    guarded(lambda: asyncio.run(run()))


@click.group()
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
    settings = settings_or_exit()
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

    guarded(lambda: asyncio.run(run()))
