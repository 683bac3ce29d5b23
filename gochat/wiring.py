"""Builds the services from Settings. The only module that imports adapters: each port's
adapter is chosen here, by URL scheme."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

import structlog

from gochat import faults
from gochat.blobs import BlobStore
from gochat.blobs.local import LocalBlobStore
from gochat.blobs.s3 import S3BlobStore
from gochat.bus import EventBus
from gochat.bus.memory import MemoryEventBus
from gochat.bus.nats import NatsEventBus
from gochat.config import ConfigError, Settings, parse_rate
from gochat.discovery import SfuRegistry
from gochat.discovery.etcd import EtcdSfuRegistry
from gochat.discovery.memory import MemorySfuRegistry
from gochat.domain.account_lifecycle import AccountLifecycleService
from gochat.domain.accounts import AccountPolicy, AccountService, SessionCache
from gochat.domain.attachments import AttachmentService, FilePolicy
from gochat.domain.audience import AudienceResolver
from gochat.domain.audit import AuditService
from gochat.domain.changes import ChangeKit
from gochat.domain.channel_access import ChannelAccessResolver
from gochat.domain.channels import ChannelService
from gochat.domain.clock import Clock
from gochat.domain.data_export import DATA_EXPORT, DataExportService
from gochat.domain.direct_messages import DirectMessageService
from gochat.domain.embeds import EmbedService
from gochat.domain.emoji import EmojiService
from gochat.domain.file_collection import FileCollector
from gochat.domain.friends import FriendService
from gochat.domain.guild_access import GuildAccess
from gochat.domain.guilds import GuildService
from gochat.domain.handlers import EventHandler
from gochat.domain.invites import InviteService
from gochat.domain.members import MemberService
from gochat.domain.messages import MessageService
from gochat.domain.moderation import BAN_PURGE, ModerationService
from gochat.domain.outbox_relay import OutboxRelay
from gochat.domain.pins import PinService
from gochat.domain.presence import PresencePolicy, PresenceService
from gochat.domain.publisher import EventPublisher, Recorder
from gochat.domain.query_costs import QueryCostService
from gochat.domain.reactions import ReactionService
from gochat.domain.read_states import ReadStateService
from gochat.domain.records import BackgroundTask, UploadPurpose
from gochat.domain.roles import RoleService
from gochat.domain.search import SearchService
from gochat.domain.services import Services
from gochat.domain.tasks import TaskHandler, TaskQueue
from gochat.domain.threads import ThreadService
from gochat.domain.typing_indicators import TypingService
from gochat.domain.voice import VoicePolicy, VoiceService
from gochat.ids import MAX_WORKER_ID, SnowflakeGenerator
from gochat.mail import EmailSender
from gochat.mail.log import LogEmailSender
from gochat.mail.smtp import SmtpEmailSender
from gochat.outbound.cache import MemoryUnfurlCache, RedisUnfurlCache, UnfurlCache
from gochat.outbound.fetch import Fetcher, FetchPolicy, parse_networks
from gochat.outbound.unfurl import Unfurler, UnfurlPolicy
from gochat.presence import PresenceStore
from gochat.presence.fallback import FallbackPresenceStore
from gochat.presence.memory import MemoryPresenceStore
from gochat.presence.redis import RedisPresenceStore
from gochat.ratelimit import RateLimiter
from gochat.ratelimit.fallback import FallbackRateLimiter
from gochat.ratelimit.memory import MemoryRateLimiter
from gochat.ratelimit.redis import RedisRateLimiter
from gochat.readiness import Check
from gochat.redis_client import redis_client
from gochat.search import SearchIndex
from gochat.search.opensearch import OpenSearchIndex
from gochat.search.postgres import PostgresSearchIndex
from gochat.search.sqlite import SqliteSearchIndex
from gochat.security.passwords import Passwords
from gochat.security.tokens import AccessTokens
from gochat.storage import JobStore, MessageStore, OutboxStore
from gochat.storage.cql import CqlSession
from gochat.storage.cql import migrate as cql_migrate
from gochat.storage.cql import parse_url as parse_cql_url
from gochat.storage.cql.messages import CqlMessageStore
from gochat.storage.sql import SqlRelationalStore
from gochat.storage.sql import migrate as sql_migrate
from gochat.tracing import Tracing, stamp
from gochat.voice.tokens import VoiceTokens
from gochat.voicestates import VoiceStateStore
from gochat.voicestates.memory import MemoryVoiceStateStore
from gochat.voicestates.redis import RedisVoiceStateStore
from gochat.workers.background_tasks import BackgroundTaskHandler
from gochat.workers.embedder import EmbedderHandler
from gochat.workers.file_sweeper import FileSweeper
from gochat.workers.indexer import SearchIndexer
from gochat.workers.inprocess import InProcessRunner
from gochat.workers.media import MediaHandler
from gochat.workers.runner import EventWorker, JobSource
from gochat.workers.sources import JetStreamSource, JobFeed, JobTableSource
from gochat.workers.thread_sweeper import ThreadSweeper

log = structlog.get_logger("gochat.wiring")


def build_mail(settings: Settings) -> EmailSender:
    if settings.mail_url.startswith("log:"):
        return LogEmailSender()
    if settings.mail_url.startswith("smtp:"):
        try:
            return SmtpEmailSender(settings.mail_url, sender=settings.mail_from)
        except ValueError as exc:
            raise ConfigError(f"invalid setting GOCHAT_MAIL_URL: {exc}") from exc
    raise ConfigError("invalid setting GOCHAT_MAIL_URL: expected log:// or smtp://")


def build_store(settings: Settings) -> SqlRelationalStore:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqlRelationalStore.from_url(
        settings.effective_database_url(),
        pool_size=settings.database_pool_size,
        pool_timeout_seconds=settings.database_pool_timeout_seconds,
    )


async def migrate_up(settings: Settings) -> None:
    store = build_store(settings)
    try:
        await sql_migrate.upgrade(store.engines.write)
    finally:
        await store.close()


@asynccontextmanager
async def open_message_store(
    settings: Settings, fallback: MessageStore, *, migrate: bool
) -> AsyncIterator[tuple[MessageStore, OutboxStore | None]]:
    """The SQL store's messages, or Cassandra/ScyllaDB when GOCHAT_MESSAGES_URL is cql://,
    with the outbox its events are written to when it is not the SQL database's."""
    if settings.messages_url is None:
        yield fallback, None
        return
    session = CqlSession(
        parse_cql_url(settings.messages_url),
        consistency=settings.cql_consistency,
        serial_consistency=settings.cql_serial_consistency,
    )
    await session.connect()
    try:
        if migrate:
            await cql_migrate.upgrade(session)
        if settings.fault_injection == "crash-after-nonce-claim":
            store = CqlMessageStore(session, after_claim=faults.crash_after_nonce_claim)
        else:
            store = CqlMessageStore(session)
        yield store, store.outbox
    finally:
        await session.close()


@asynccontextmanager
async def open_blob_store(settings: Settings) -> AsyncIterator[BlobStore]:
    """Files under data_dir/blobs, or in S3 when GOCHAT_BLOBS_URL is s3://."""
    store: BlobStore
    if settings.blobs_url is None:
        store = LocalBlobStore(settings.data_dir / "blobs")
    else:
        store = await S3BlobStore.connect(settings.blobs_url)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def open_search_index(
    settings: Settings, store: SqlRelationalStore
) -> AsyncIterator[SearchIndex]:
    """The relational database's own full text (FTS5 on SQLite, tsvector on PostgreSQL), or
    OpenSearch when GOCHAT_SEARCH_URL is set."""
    index: SearchIndex
    if settings.search_url is not None:
        try:
            index = await OpenSearchIndex.connect(settings.search_url)
        except ValueError as exc:
            raise ConfigError(f"invalid setting GOCHAT_SEARCH_URL: {exc}") from exc
    elif store.engines.dialect == "postgresql":
        index = PostgresSearchIndex(store.engines)
    else:
        index = SqliteSearchIndex(store.engines)
    try:
        yield index
    finally:
        await index.close()


@asynccontextmanager
async def open_bus(settings: Settings) -> AsyncIterator[EventBus]:
    """The in-process bus, or NATS when GOCHAT_BUS_URL is nats://."""
    bus: EventBus
    if settings.bus_url.startswith("nats://"):
        bus = await NatsEventBus.connect(
            settings.bus_url,
            name=f"gochat-{settings.worker_id}",
            publish_timeout_seconds=settings.bus_publish_timeout_seconds,
            reconnect_max_seconds=settings.bus_reconnect_wait_seconds,
        )
    else:
        bus = MemoryEventBus()
    try:
        yield bus
    finally:
        await bus.close()


@asynccontextmanager
async def open_shared_state(
    settings: Settings,
) -> AsyncIterator[tuple[RateLimiter, PresenceStore, VoiceStateStore]]:
    """Rate limits, presence and voice states in this process, or in Redis when
    GOCHAT_REDIS_URL is set (rate limits and presence falling back to this process while Redis
    is unreachable; voice states, which every process must agree on, do not)."""
    if settings.redis_url is None:
        yield MemoryRateLimiter(), MemoryPresenceStore(), MemoryVoiceStateStore()
        return
    # Short timeouts: a Redis that hangs must degrade presence, not stall every request.
    client = redis_client(settings.redis_url, cluster=settings.redis_cluster, timeout_seconds=1.0)
    try:
        yield (
            FallbackRateLimiter(RedisRateLimiter(client), MemoryRateLimiter()),
            FallbackPresenceStore(RedisPresenceStore(client), MemoryPresenceStore()),
            RedisVoiceStateStore(client),
        )
    finally:
        await client.aclose()


@asynccontextmanager
async def open_sfu_registry(url: str | None) -> AsyncIterator[SfuRegistry]:
    """Where SFUs register: a registry in this process (the embedded SFU shares it), or etcd
    when `url` (GOCHAT_DISCOVERY_URL) is etcd://. SFU processes open theirs here too."""
    registry: SfuRegistry
    if url is None:
        registry = MemorySfuRegistry()
    else:
        try:
            registry = EtcdSfuRegistry.from_url(url)
        except ValueError as exc:
            raise ConfigError(f"invalid setting GOCHAT_DISCOVERY_URL: {exc}") from exc
    try:
        yield registry
    finally:
        await registry.close()


@asynccontextmanager
async def open_readiness_checks(
    settings: Settings, services: Services
) -> AsyncIterator[list[Check]]:
    """A check for each dependency this process was configured with (gochat.readiness)."""
    checks = [Check("sql", services.store.ping)]
    if services.message_store is not services.store.messages:
        checks.append(Check("cql", services.message_store.ping))
    if isinstance(services.bus, NatsEventBus):
        checks.append(Check("bus", services.bus.ping, required=False))
    checks.append(Check("blobs", lambda: services.blobs.head("readiness-probe"), required=False))
    if settings.search_url is not None:
        # Search down leaves everything else serving (searches answer UNAVAILABLE meanwhile).
        checks.append(Check("search", services.search.index.ping, required=False))
    if settings.redis_url is None:
        yield checks
        return
    # A client of its own: the shared one's errors are absorbed by the fallbacks.
    client = redis_client(settings.redis_url, cluster=settings.redis_cluster, timeout_seconds=1.0)
    checks.append(Check("redis", client.ping, required=False))
    try:
        yield checks
    finally:
        await client.aclose()


async def cancel_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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


def build_threads(
    settings: Settings,
    kit: ChangeKit,
    messages_store: MessageStore,
    messages: MessageService,
    stack: AsyncExitStack,
) -> ThreadService:
    """Threads, with their auto-archive sweeper in every process (gochat/workers/)."""
    threads = ThreadService(kit, messages_store, messages)
    if settings.thread_archive_interval_seconds > 0:
        sweeper = ThreadSweeper(threads, interval_seconds=settings.thread_archive_interval_seconds)
        sweeper.start()
        stack.push_async_callback(sweeper.stop)
    return threads


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        max_bytes=settings.embed_fetch_max_bytes,
        timeout_seconds=settings.embed_fetch_timeout_seconds,
        allowed_networks=parse_networks(settings.embed_fetch_allowed_networks),
    )


def embedder_handler(
    settings: Settings,
    messages: MessageService,
    store: MessageStore,
    cache: UnfurlCache | None = None,
) -> EmbedderHandler:
    """The embedder with the configured fetch policy; an in-process cache unless given one."""
    unfurler = Unfurler(
        Fetcher(fetch_policy(settings)),
        cache or MemoryUnfurlCache(),
        UnfurlPolicy(
            cache_seconds=settings.embed_cache_seconds,
            failure_cache_seconds=settings.embed_failure_cache_seconds,
            per_host_concurrency=settings.embed_fetch_per_host,
        ),
    )
    return EmbedderHandler(messages, store, unfurler)


def media_proxy_key(settings: Settings) -> bytes | None:
    """The media proxy's signing key, derived from the signing secret; None when it is off."""
    if not settings.media_proxy_enabled:
        return None
    return hmac.new(settings.signing_secret().encode(), b"media-proxy", hashlib.sha256).digest()


def media_fetcher(settings: Settings) -> Fetcher | None:
    """The media proxy's fetcher (the embedder's policy, its own size cap); None when off."""
    if not settings.media_proxy_enabled:
        return None
    return Fetcher(replace(fetch_policy(settings), max_bytes=settings.media_proxy_max_bytes))


@asynccontextmanager
async def open_unfurl_cache(settings: Settings) -> AsyncIterator[UnfurlCache]:
    """In this process, or in Redis (shared by every embedder) when GOCHAT_REDIS_URL is set."""
    if settings.redis_url is None:
        yield MemoryUnfurlCache()
        return
    client = redis_client(settings.redis_url, cluster=settings.redis_cluster, timeout_seconds=1.0)
    try:
        yield RedisUnfurlCache(client)
    finally:
        await client.aclose()


def account_policy(settings: Settings) -> AccountPolicy:
    return AccountPolicy(
        refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds,
        email_confirmation_ttl_seconds=settings.email_confirmation_ttl_seconds,
        password_reset_ttl_seconds=settings.password_reset_ttl_seconds,
        settings_max_bytes=settings.settings_max_bytes,
        public_url=settings.effective_public_url(),
        rate_register_per_ip=parse_rate(settings.rate_register_per_ip),
        rate_login_per_ip=parse_rate(settings.rate_login_per_ip),
        rate_login_per_account=parse_rate(settings.rate_login_per_account),
        rate_reset_per_ip=parse_rate(settings.rate_reset_per_ip),
        rate_reset_per_account=parse_rate(settings.rate_reset_per_account),
    )


@asynccontextmanager
async def open_lifecycle(settings: Settings) -> AsyncIterator[AccountLifecycleService]:
    """Account lifecycle operations for the CLI: with NATS its events go out at once; with the
    in-process bus they stay in the outbox for the running servers' relay to publish."""
    store = build_store(settings)
    try:
        async with AsyncExitStack() as stack:
            publisher = None
            if settings.bus_url.startswith("nats://"):
                bus = await stack.enter_async_context(open_bus(settings))
                publisher = EventPublisher(bus, store.outbox)
                stack.push_async_callback(publisher.close)
            yield AccountLifecycleService(
                store=store,
                # The last worker id, so the CLI's event ids do not collide with a server's.
                ids=SnowflakeGenerator(MAX_WORKER_ID),
                passwords=Passwords(),
                mail=build_mail(settings),
                limits=MemoryRateLimiter(),
                publisher=publisher,
                policy=account_policy(settings),
            )
    finally:
        await store.close()


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
            feed.route(handler.name, handler.event_types)
    workers = [
        EventWorker(handlers[n], worker_source(bus, jobs, feed), jobs, tracing=tracing)
        for n in names
    ]
    for worker in workers:
        worker.start()
    return workers


def worker_source(bus: EventBus, jobs: JobStore, feed: JobFeed | None) -> JobSource:
    """JetStream when the bus is NATS (it recorded the events); else the job table."""
    if isinstance(bus, NatsEventBus):
        return JetStreamSource(bus)
    assert feed is not None
    return JobTableSource(jobs, feed.waker())


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
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await voice.close()


def file_policy(settings: Settings) -> FilePolicy:
    return FilePolicy(
        max_bytes={
            UploadPurpose.ATTACHMENT: settings.attachment_max_bytes,
            UploadPurpose.AVATAR: settings.avatar_max_bytes,
            UploadPurpose.GUILD_ICON: settings.guild_image_max_bytes,
            UploadPurpose.GUILD_BANNER: settings.guild_image_max_bytes,
            UploadPurpose.EMOJI: settings.emoji_max_bytes,
        },
        max_open_slots=settings.upload_max_open_slots,
        slot_ttl_seconds=settings.upload_slot_ttl_seconds,
        url_ttl_seconds=settings.file_url_ttl_seconds,
        # A key of its own, derived from the JWT key: a file signature is never a token.
        signing_key=hmac.new(
            settings.signing_secret().encode(), b"gochat-files", hashlib.sha256
        ).digest(),
    )


@asynccontextmanager
async def build_services(
    settings: Settings,
    *,
    migrate: bool | None = None,
    run_workers: Collection[str] | None = None,
    tracing: Tracing | None = None,
) -> AsyncIterator[Services]:
    """Every service, with the worker kinds named in `run_workers` running in this process
    (None: all of them when GOCHAT_WORKERS_IN_PROCESS, else none). Traced with `tracing`, else
    as the settings say (gochat/tracing.py); closes the tracing it was given."""
    store = build_store(settings)
    migrate_now = settings.migrate_on_start if migrate is None else migrate
    stack = AsyncExitStack()
    tracing = tracing or Tracing.from_settings(settings)
    try:
        if tracing is not None:
            tracing.start([store.engines.write, store.engines.read])
            stack.callback(tracing.close)
        if migrate_now:
            await sql_migrate.upgrade(store.engines.write)
        messages_store, messages_outbox = await stack.enter_async_context(
            open_message_store(settings, store.messages, migrate=migrate_now)
        )
        mail, ids = build_mail(settings), SnowflakeGenerator(settings.worker_id)
        bus = await stack.enter_async_context(open_bus(settings))
        limits, presence_store, voice_states = await stack.enter_async_context(
            open_shared_state(settings)
        )
        blobs = await stack.enter_async_context(open_blob_store(settings))
        # One publisher per outbox, so each confirms its events where they were written; the
        # message store's events are in Cassandra's outbox when messages live there.
        outboxes = [store.outbox] + ([messages_outbox] if messages_outbox is not None else [])
        # Embedded, workers' jobs are recorded from published events before the outbox forgets
        # them; on NATS the stream records them for the workers' consumers.
        feed = None if isinstance(bus, NatsEventBus) else JobFeed(store.jobs)
        recorder = None if feed is None else feed.record
        publishers = [
            EventPublisher(bus, outbox, recorder=recorder, stamp=None if tracing is None else stamp)
            for outbox in outboxes
        ]
        # The stack closes in reverse: workers, presence, relays, then publishers.
        for each in publishers:
            stack.push_async_callback(each.close)
        publisher, messages_publisher = publishers[0], publishers[-1]
        if settings.fault_injection == "crash-before-publish":
            for each in publishers:
                each.add_listener(faults.crash_before_publish)
        start_relays(settings, outboxes, bus, recorder, stack)
        kit = ChangeKit(
            store=store.guilds,
            access=GuildAccess(store.guilds),
            ids=ids,
            publisher=publisher,
            clock=Clock(),
        )
        resolver = ChannelAccessResolver(kit.access, store.direct)
        attachments = AttachmentService(kit, store.files, blobs, resolver, file_policy(settings))
        passwords, policy = Passwords(), account_policy(settings)
        accounts = AccountService(
            store=store,
            ids=ids,
            passwords=passwords,
            tokens=AccessTokens(
                secret=settings.signing_secret(),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.access_token_ttl_seconds,
            ),
            mail=mail,
            limits=limits,
            publisher=publisher,
            policy=policy,
            sessions=SessionCache(ttl_seconds=settings.session_cache_seconds),
            files=attachments,
        )
        for each in publishers:
            each.add_listener(accounts.on_published)
            each.add_listener(kit.access.on_published)
        # The message store's changes, whose events its own outbox holds.
        messages_kit = ChangeKit(
            store=store.guilds,
            access=kit.access,
            ids=ids,
            publisher=messages_publisher,
            clock=kit.clock,
        )
        messages = MessageService(
            messages_kit,
            messages_store,
            resolver,
            store.direct,
            attachments,
            limits=limits,
            guild_kit=kit,
        )
        search_index = await stack.enter_async_context(open_search_index(settings, store))
        handlers = {
            h.name: h
            for h in event_handlers(
                settings,
                store=store,
                blobs=blobs,
                messages=messages_store,
                message_service=messages,
                unfurl_cache=await stack.enter_async_context(open_unfurl_cache(settings)),
                publisher=publisher,
                ids=ids,
                search=search_index,
            )
        }
        if run_workers is None:
            run_workers = handlers if settings.workers_in_process else ()
        for worker in start_workers(
            handlers, run_workers, bus=bus, jobs=store.jobs, feed=feed, tracing=tracing
        ):
            stack.push_async_callback(worker.stop)
        start_file_sweeper(
            settings,
            collector=FileCollector(
                store.files,
                blobs,
                messages_store,
                claim_grace_seconds=settings.file_claim_grace_seconds,
            ),
            publisher=publisher,
            stack=stack,
        )
        moderation, exports = start_task_services(
            settings,
            store=store,
            kit=kit,
            messages=messages,
            messages_store=messages_store,
            blobs=blobs,
            attachments=attachments,
            mail=mail,
            stack=stack,
        )
        presence = PresenceService(
            presence_store,
            bus,
            store.guilds,
            store.direct,
            ids,
            policy=PresencePolicy(
                ttl_seconds=settings.presence_ttl_seconds,
                grace_seconds=settings.presence_grace_seconds,
                sweep_interval_seconds=settings.presence_sweep_interval_seconds,
            ),
        )
        stack.push_async_callback(presence.close)
        stack.push_async_callback(cancel_task, asyncio.create_task(presence.run()))
        voice = await start_voice(settings, kit, voice_states, bus, stack=stack)
        yield Services(
            store=store,
            message_store=messages_store,
            bus=bus,
            blobs=blobs,
            presence=presence,
            typing=TypingService(
                resolver, bus, limits, ids, rate=parse_rate(settings.rate_typing_per_user)
            ),
            audience=AudienceResolver(store.guilds),
            guild_access=kit.access,
            mail=mail,
            accounts=accounts,
            guilds=GuildService(
                kit, default_voice_region=settings.voice_regions[0], files=attachments
            ),
            channels=ChannelService(kit, voice_regions=settings.voice_regions),
            roles=RoleService(kit),
            members=MemberService(kit),
            moderation=moderation,
            invites=InviteService(kit, store.accounts, messages),
            emoji=EmojiService(kit, max_per_guild=settings.emoji_max_per_guild, files=attachments),
            audit=AuditService(kit),
            messages=messages,
            attachments=attachments,
            reactions=ReactionService(messages_kit, messages_store, messages),
            pins=PinService(messages_kit, messages_store, messages),
            read_states=ReadStateService(messages_kit, messages_store, messages),
            direct_messages=DirectMessageService(kit, store.direct, store.accounts),
            friends=FriendService(kit, store.direct, store.accounts),
            voice=voice,
            sfu_registry=voice.registry,
            query_costs=QueryCostService(
                limits,
                max_cost=settings.graphql_max_cost,
                rate=parse_rate(settings.rate_cost_per_user),
            ),
            threads=build_threads(settings, kit, messages_store, messages, stack),
            clock=kit.clock,
            search=SearchService(
                search_index,
                messages=messages_store,
                guilds=kit.access,
                channels=resolver,
                direct=store.direct,
                accounts=store.accounts,
            ),
            jobs=store.jobs,
            workers=handlers,
            embeds=EmbedService(proxy_key=media_proxy_key(settings)),
            lifecycle=AccountLifecycleService(
                store=store,
                ids=ids,
                passwords=passwords,
                mail=mail,
                limits=limits,
                publisher=publisher,
                policy=policy,
            ),
            exports=exports,
        )
    finally:
        await stack.aclose()
        await store.close()
