"""The adapters behind each port, chosen by URL scheme from Settings (and nowhere else)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gochat import faults
from gochat.blobs import BlobStore
from gochat.blobs.local import LocalBlobStore
from gochat.bus import EventBus
from gochat.bus.memory import MemoryEventBus
from gochat.config import ConfigError, Settings
from gochat.discovery import SfuRegistry
from gochat.discovery.memory import MemorySfuRegistry
from gochat.domain.services import Services
from gochat.mail import EmailSender
from gochat.mail.log import LogEmailSender
from gochat.presence import PresenceStore
from gochat.presence.memory import MemoryPresenceStore
from gochat.ratelimit import RateLimiter
from gochat.ratelimit.memory import MemoryRateLimiter
from gochat.readiness import Check
from gochat.search import SearchIndex
from gochat.search.postgres import PostgresSearchIndex
from gochat.search.sqlite import SqliteSearchIndex
from gochat.storage import MessageStore, OutboxStore
from gochat.storage.sql import SqlRelationalStore
from gochat.storage.sql import migrate as sql_migrate
from gochat.voicestates import VoiceStateStore
from gochat.voicestates.memory import MemoryVoiceStateStore

# The scale adapters are imported in the branch that picks them (the `noqa: PLC0415`s below):
# their clients (cassandra-driver, nats-py, redis-py, opensearch-py, aioboto3, aetcd) weigh
# tens of megabytes each, resident in every process that merely imported them.


def uses_nats(settings: Settings) -> bool:
    """Whether the bus is NATS (JetStream keeps the workers' events) or this process."""
    return settings.bus_url.startswith("nats://")


def build_mail(settings: Settings) -> EmailSender:
    if settings.mail_url.startswith("log:"):
        return LogEmailSender()
    if settings.mail_url.startswith("smtp:"):
        from gochat.mail.smtp import SmtpEmailSender  # noqa: PLC0415

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
    from gochat.storage.cql import CqlSession  # noqa: PLC0415
    from gochat.storage.cql import migrate as cql_migrate  # noqa: PLC0415
    from gochat.storage.cql import parse_url as parse_cql_url  # noqa: PLC0415
    from gochat.storage.cql.messages import CqlMessageStore  # noqa: PLC0415

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
        from gochat.blobs.s3 import S3BlobStore  # noqa: PLC0415

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
        from gochat.search.opensearch import OpenSearchIndex  # noqa: PLC0415

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
    if uses_nats(settings):
        from gochat.bus.nats import NatsEventBus  # noqa: PLC0415

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
    from gochat.presence.fallback import FallbackPresenceStore  # noqa: PLC0415
    from gochat.presence.redis import RedisPresenceStore  # noqa: PLC0415
    from gochat.ratelimit.fallback import FallbackRateLimiter  # noqa: PLC0415
    from gochat.ratelimit.redis import RedisRateLimiter  # noqa: PLC0415
    from gochat.redis_client import redis_client  # noqa: PLC0415
    from gochat.voicestates.redis import RedisVoiceStateStore  # noqa: PLC0415

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
        from gochat.discovery.etcd import EtcdSfuRegistry  # noqa: PLC0415

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
    if uses_nats(settings):
        from gochat.bus.nats import NatsEventBus  # noqa: PLC0415

        assert isinstance(services.bus, NatsEventBus)
        checks.append(Check("bus", services.bus.ping, required=False))
    checks.append(Check("blobs", lambda: services.blobs.head("readiness-probe"), required=False))
    if settings.search_url is not None:
        # Search down leaves everything else serving (searches answer UNAVAILABLE meanwhile).
        checks.append(Check("search", services.search.index.ping, required=False))
    if settings.redis_url is None:
        yield checks
        return
    from gochat.redis_client import redis_client  # noqa: PLC0415

    # A client of its own: the shared one's errors are absorbed by the fallbacks.
    client = redis_client(settings.redis_url, cluster=settings.redis_cluster, timeout_seconds=1.0)
    checks.append(Check("redis", client.ping, required=False))
    try:
        yield checks
    finally:
        await client.aclose()
