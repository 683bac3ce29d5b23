"""Builds the services from Settings. The only package that imports adapters: each port's
adapter is chosen here (`engines`), by URL scheme."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import AsyncExitStack, asynccontextmanager

from gochat import faults
from gochat.config import Settings, parse_rate
from gochat.domain.account_lifecycle import AccountLifecycleService
from gochat.domain.accounts import AccountService, SessionCache
from gochat.domain.attachments import AttachmentService
from gochat.domain.audience import AudienceResolver
from gochat.domain.audit import AuditService
from gochat.domain.changes import ChangeKit
from gochat.domain.channel_access import ChannelAccessResolver
from gochat.domain.channels import ChannelService
from gochat.domain.clock import Clock
from gochat.domain.direct_messages import DirectMessageService
from gochat.domain.embeds import EmbedService
from gochat.domain.emoji import EmojiService
from gochat.domain.file_collection import FileCollector
from gochat.domain.friends import FriendService
from gochat.domain.guild_access import GuildAccess
from gochat.domain.guilds import GuildService
from gochat.domain.invites import InviteService
from gochat.domain.members import MemberService
from gochat.domain.messages import MessageService
from gochat.domain.pins import PinService
from gochat.domain.presence import PresencePolicy, PresenceService
from gochat.domain.publisher import EventPublisher
from gochat.domain.query_costs import QueryCostService
from gochat.domain.reactions import ReactionService
from gochat.domain.read_states import ReadStateService
from gochat.domain.roles import RoleService
from gochat.domain.search import SearchService
from gochat.domain.services import Services
from gochat.domain.typing_indicators import TypingService
from gochat.ids import SnowflakeGenerator
from gochat.security.passwords import Passwords
from gochat.security.tokens import AccessTokens
from gochat.storage.sql import migrate as sql_migrate
from gochat.tasks import stop_task
from gochat.tracing import Tracing, stamp
from gochat.wiring.background import (
    event_handlers,
    start_file_sweeper,
    start_relays,
    start_task_services,
    start_voice,
    start_workers,
    worker_source,
)
from gochat.wiring.engines import (
    build_mail,
    build_store,
    migrate_up,
    open_blob_store,
    open_bus,
    open_message_store,
    open_readiness_checks,
    open_search_index,
    open_sfu_registry,
    open_shared_state,
    uses_nats,
)
from gochat.wiring.features import (
    account_policy,
    build_threads,
    embedder_handler,
    fetch_policy,
    file_policy,
    media_fetcher,
    media_proxy_key,
    open_lifecycle,
    open_unfurl_cache,
)
from gochat.workers.sources import JobFeed

__all__ = [
    "account_policy",
    "build_mail",
    "build_services",
    "build_store",
    "build_threads",
    "embedder_handler",
    "event_handlers",
    "fetch_policy",
    "file_policy",
    "media_fetcher",
    "media_proxy_key",
    "migrate_up",
    "open_blob_store",
    "open_bus",
    "open_lifecycle",
    "open_message_store",
    "open_readiness_checks",
    "open_search_index",
    "open_sfu_registry",
    "open_shared_state",
    "open_unfurl_cache",
    "start_file_sweeper",
    "start_relays",
    "start_task_services",
    "start_voice",
    "start_workers",
    "worker_source",
]


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
        feed = None if uses_nats(settings) else JobFeed(store.jobs)
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
        stack.push_async_callback(stop_task, asyncio.create_task(presence.run()))
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
