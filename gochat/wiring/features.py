"""Policies and helpers of single features (threads, embeds, accounts, files) built from
Settings."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

from gochat.config import Settings, parse_rate
from gochat.domain.account_lifecycle import AccountLifecycleService
from gochat.domain.accounts import AccountPolicy
from gochat.domain.attachments import FilePolicy
from gochat.domain.changes import ChangeKit
from gochat.domain.messages import MessageService
from gochat.domain.publisher import EventPublisher
from gochat.domain.records import UploadPurpose
from gochat.domain.threads import ThreadService
from gochat.ids import MAX_WORKER_ID, SnowflakeGenerator
from gochat.outbound.cache import MemoryUnfurlCache, UnfurlCache
from gochat.outbound.fetch import Fetcher, FetchPolicy, parse_networks
from gochat.outbound.unfurl import Unfurler, UnfurlPolicy
from gochat.ratelimit.memory import MemoryRateLimiter
from gochat.security.passwords import Passwords
from gochat.storage import MessageStore
from gochat.wiring.engines import build_mail, build_store, open_bus, uses_nats
from gochat.workers.embedder import EmbedderHandler
from gochat.workers.thread_sweeper import ThreadSweeper


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
    from gochat.outbound.redis_cache import RedisUnfurlCache  # noqa: PLC0415
    from gochat.redis_client import redis_client  # noqa: PLC0415

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
            if uses_nats(settings):
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
