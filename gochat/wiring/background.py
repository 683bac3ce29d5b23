"""What runs in the background of a process: outbox relays, sweepers, workers, background
tasks and voice."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from contextlib import AsyncExitStack

from gochat.blobs import BlobStore
from gochat.bus import EventBus
from gochat.config import ConfigError, Settings
from gochat.domain.attachments import AttachmentService
from gochat.domain.changes import ChangeKit
from gochat.domain.data_export import DATA_EXPORT, DataExportService
from gochat.domain.file_collection import FileCollector
from gochat.domain.handlers import EventHandler
from gochat.domain.messages import MessageService
from gochat.domain.moderation import BAN_PURGE, ModerationService
from gochat.domain.outbox_relay import OutboxRelay
from gochat.domain.publisher import EventPublisher, Recorder
from gochat.domain.records import BackgroundTask
from gochat.domain.tasks import TaskHandler, TaskQueue
from gochat.domain.voice import VoicePolicy, VoiceService
from gochat.ids import SnowflakeGenerator
from gochat.mail import EmailSender
from gochat.outbound.cache import UnfurlCache
from gochat.search import SearchIndex
from gochat.storage import JobStore, MessageStore, OutboxStore
from gochat.storage.sql import SqlRelationalStore
from gochat.tasks import stop_task
from gochat.tracing import Tracing
from gochat.voice.tokens import VoiceTokens
from gochat.voicestates import VoiceStateStore
from gochat.wiring.engines import open_sfu_registry
from gochat.wiring.features import embedder_handler
from gochat.workers.background_tasks import BackgroundTaskHandler
from gochat.workers.file_sweeper import FileSweeper
from gochat.workers.indexer import SearchIndexer
from gochat.workers.inprocess import InProcessRunner
from gochat.workers.media import MediaHandler
from gochat.workers.runner import EventWorker, JobSource
from gochat.workers.sources import JetStreamSource, JobFeed, JobTableSource


def start_relays(
    settings: Settings,
    outboxes: Sequence[OutboxStore],
    bus: EventBus,
    recorder: Recorder | None,
    stack: AsyncExitStack,
) -> None:
    """Outbox relays: resend events whose immediate publish failed (bus outage, crash)."""
    relays: list[tuple[OutboxRelay, asyncio.Task[None]]] = []
    if settings.outbox_relay_interval_seconds <= 0:
        return

    async def stop() -> None:
        for relay, _ in relays:
            relay.stop()
        for _, task in relays:
            await task

    stack.push_async_callback(stop)
    for index, outbox in enumerate(outboxes):
        relay = OutboxRelay(
            outbox,
            bus,
            grace_seconds=settings.outbox_relay_grace_seconds,
            interval_seconds=settings.outbox_relay_interval_seconds,
            recorder=recorder,
        )
        task = asyncio.create_task(relay.run(), name=f"gochat-outbox-relay-{index}")
        relays.append((relay, task))


def start_file_sweeper(
    settings: Settings,
    *,
    collector: FileCollector,
    publisher: EventPublisher,
    stack: AsyncExitStack,
) -> None:
    """File collection runs in this process, woken by changes that may free files."""
    if settings.file_sweep_interval_seconds > 0:
        sweeper = FileSweeper(collector, interval_seconds=settings.file_sweep_interval_seconds)
        publisher.add_listener(sweeper.on_published)
        sweeper.start()
        stack.push_async_callback(sweeper.stop)


def event_handlers(
    settings: Settings,
    *,
    store: SqlRelationalStore,
    blobs: BlobStore,
    messages: MessageStore,
    message_service: MessageService,
    unfurl_cache: UnfurlCache,
    publisher: EventPublisher,
    ids: SnowflakeGenerator,
    search: SearchIndex,
) -> list[EventHandler]:
    """Every worker kind, by the name `gochat worker NAME` takes (gochat/workers/)."""
    handlers: list[EventHandler] = [MediaHandler(store.files, blobs, messages, publisher, ids)]
    if settings.embedder_enabled:
        handlers.append(embedder_handler(settings, message_service, messages, unfurl_cache))
    handlers.append(SearchIndexer(search, store.files.attachments_of))
    return handlers


def start_workers(
    handlers: Mapping[str, EventHandler],
    names: Collection[str],
    *,
    bus: EventBus,
    jobs: JobStore,
    feed: JobFeed | None,
    tracing: Tracing | None = None,
) -> list[EventWorker]:
    """Run the worker kinds in `names` in this process; every kind's jobs are recorded (by
    the feed embedded) whether it runs here or in a `gochat worker` process."""
    unknown = sorted(set(names) - set(handlers))
    if unknown:
        raise ConfigError(f"no worker named {unknown[0]!r} (known: {', '.join(sorted(handlers))})")
    if feed is not None:
        for handler in handlers.values():
            feed.route(handler.name, handler.event_types, handler.wants)
    workers = [
        EventWorker(handlers[n], worker_source(bus, jobs, feed), jobs, tracing=tracing)
        for n in names
    ]
    for worker in workers:
        worker.start()
    return workers


def worker_source(bus: EventBus, jobs: JobStore, feed: JobFeed | None) -> JobSource:
    """The job table, fed by `feed` (the in-process bus); without a feed, JetStream (the bus
    is NATS, and its stream recorded the events)."""
    if feed is not None:
        return JobTableSource(jobs, feed.waker())
    from gochat.bus.nats import NatsEventBus  # noqa: PLC0415 - only a NATS process has no feed

    assert isinstance(bus, NatsEventBus)
    return JetStreamSource(bus)


def start_task_services(
    settings: Settings,
    *,
    store: SqlRelationalStore,
    kit: ChangeKit,
    messages: MessageService,
    messages_store: MessageStore,
    blobs: BlobStore,
    attachments: AttachmentService,
    mail: EmailSender,
    stack: AsyncExitStack,
) -> tuple[ModerationService, DataExportService]:
    """The services that queue background tasks, and the runner of those tasks in this
    process (fed after commit, and from the rows not finished yet at start)."""
    tasks = TaskQueue(store.tasks, kit.ids)
    moderation = ModerationService(kit, store.accounts, tasks=tasks, messages=messages)
    exports = DataExportService(
        store=store,
        messages=messages_store,
        blobs=blobs,
        files=attachments,
        mail=mail,
        tasks=tasks,
        public_url=settings.effective_public_url(),
    )
    handlers: dict[str, TaskHandler] = {
        BAN_PURGE: moderation.purge_banned_unchecked,
        DATA_EXPORT: exports.build_unchecked,
    }
    runner: InProcessRunner[BackgroundTask] = InProcessRunner(
        BackgroundTaskHandler(store.tasks, handlers)
    )
    tasks.add_listener(lambda task: runner.offer([task]))
    runner.start()
    stack.push_async_callback(runner.stop)
    return moderation, exports


async def start_voice(
    settings: Settings,
    kit: ChangeKit,
    states: VoiceStateStore,
    bus: EventBus,
    *,
    stack: AsyncExitStack,
) -> VoiceService:
    """The voice service, applying SFU reports in the background and checking members in
    voice after each committed change of this process."""
    registry = await stack.enter_async_context(open_sfu_registry(settings.discovery_url))
    voice = VoiceService(
        kit,
        states,
        registry,
        VoiceTokens(
            secret=settings.signing_secret(),
            issuer=settings.jwt_issuer,
            ttl_seconds=settings.voice_token_ttl_seconds,
        ),
        bus,
        token_ttl_seconds=settings.voice_token_ttl_seconds,
        policy=VoicePolicy(
            regions=tuple(settings.voice_regions),
            heartbeat_expiry_seconds=settings.voice_heartbeat_expiry_seconds,
            sweep_interval_seconds=settings.voice_sweep_interval_seconds,
        ),
    )
    kit.publisher.add_listener(voice.on_published)
    task = asyncio.create_task(voice.run(), name="gochat-voice")
    stack.push_async_callback(_stop_voice, voice, task)
    return voice


async def _stop_voice(voice: VoiceService, task: asyncio.Task[None]) -> None:
    await stop_task(task)
    await voice.close()
