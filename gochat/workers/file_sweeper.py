"""The in-process file sweeper: runs collection passes (gochat/domain/file_collection.py) every
interval, and at once when a published change may have freed files (a message, emoji, channel
or guild deleted, a profile or guild image replaced)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from gochat.bus import Envelope
from gochat.bus.codec import event_type
from gochat.domain.events import (
    ChannelDeleted,
    EmojiDeleted,
    GuildDeleted,
    GuildUpdated,
    MessagesDeleted,
    UserUpdated,
)
from gochat.domain.file_collection import FileCollector
from gochat.errors import Unavailable
from gochat.tasks import stop_task

log = structlog.get_logger("gochat.workers.files")

FREEING = {
    cls.TYPE
    for cls in (
        MessagesDeleted,
        EmojiDeleted,
        ChannelDeleted,
        GuildDeleted,
        GuildUpdated,
        UserUpdated,
    )
}


class FileSweeper:
    def __init__(self, collector: FileCollector, *, interval_seconds: float) -> None:
        self._collector = collector
        self._interval = interval_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def on_published(self, envelopes: Sequence[Envelope]) -> None:
        if any(event_type(e.payload) in FREEING for e in envelopes):
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gochat-file-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                removed = await self._collector.sweep(now=datetime.now(UTC))
                if removed:
                    log.info("files.collected", count=removed)
            except Unavailable:
                log.info("files.sweep_deferred")
            except Exception:  # the next pass tries again
                log.exception("files.sweep_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
