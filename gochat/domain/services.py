"""The set of services one process runs, as handed to the GraphQL layer, workers and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gochat.blobs import BlobStore
from gochat.bus import EventBus
from gochat.discovery import SfuRegistry
from gochat.domain.account_lifecycle import AccountLifecycleService
from gochat.domain.accounts import AccountService
from gochat.domain.attachments import AttachmentService
from gochat.domain.audience import AudienceResolver
from gochat.domain.audit import AuditService
from gochat.domain.channels import ChannelService
from gochat.domain.clock import Clock
from gochat.domain.data_export import DataExportService
from gochat.domain.direct_messages import DirectMessageService
from gochat.domain.embeds import EmbedService
from gochat.domain.emoji import EmojiService
from gochat.domain.friends import FriendService
from gochat.domain.guild_access import GuildAccess
from gochat.domain.guilds import GuildService
from gochat.domain.handlers import EventHandler
from gochat.domain.invites import InviteService
from gochat.domain.members import MemberService
from gochat.domain.messages import MessageService
from gochat.domain.moderation import ModerationService
from gochat.domain.pins import PinService
from gochat.domain.presence import PresenceService
from gochat.domain.query_costs import QueryCostService
from gochat.domain.reactions import ReactionService
from gochat.domain.read_states import ReadStateService
from gochat.domain.roles import RoleService
from gochat.domain.search import SearchService
from gochat.domain.threads import ThreadService
from gochat.domain.typing_indicators import TypingService
from gochat.domain.voice import VoiceService
from gochat.mail import EmailSender
from gochat.storage import JobStore, MessageStore, RelationalStore


@dataclass(frozen=True, slots=True)
class Services:
    store: RelationalStore
    message_store: MessageStore
    bus: EventBus
    blobs: BlobStore
    presence: PresenceService
    typing: TypingService
    audience: AudienceResolver
    guild_access: GuildAccess
    mail: EmailSender
    accounts: AccountService
    guilds: GuildService
    channels: ChannelService
    roles: RoleService
    members: MemberService
    moderation: ModerationService
    invites: InviteService
    emoji: EmojiService
    audit: AuditService
    messages: MessageService
    attachments: AttachmentService
    reactions: ReactionService
    pins: PinService
    read_states: ReadStateService
    direct_messages: DirectMessageService
    friends: FriendService
    query_costs: QueryCostService
    embeds: EmbedService
    search: SearchService
    jobs: JobStore
    workers: Mapping[str, EventHandler]  # every worker kind by name, running here or not
    threads: ThreadService
    clock: Clock  # the time the services go by; tests move it forward
    lifecycle: AccountLifecycleService
    exports: DataExportService
    voice: VoiceService
    # Shared with the SFU `gochat serve` runs in-process (embedded discovery).
    sfu_registry: SfuRegistry
