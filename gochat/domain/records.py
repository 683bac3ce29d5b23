"""Records: frozen values that domain services return and storage adapters build."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gochat.ids import Snowflake

# Purposes of mailed one-time tokens.
CONFIRM_EMAIL = "confirm_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret
CHANGE_EMAIL = "change_email"


@dataclass(frozen=True, slots=True)
class User:
    """What anyone may see of a user."""

    id: Snowflake
    handle: str
    display_name: str
    created_at: datetime
    avatar_id: Snowflake | None = None  # the used upload that is the avatar
    deleted: bool = False  # the account was deleted: only this placeholder remains


@dataclass(frozen=True, slots=True)
class Account:
    """A user with the private fields only its owner sees."""

    user: User
    email: str
    email_verified: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    """What login needs; never leaves the domain."""

    user_id: Snowflake
    password_hash: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class UserSettings:
    """An opaque, versioned client document; the version rises by one on every replace."""

    user_id: Snowflake
    version: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """One login: a refresh-token family. Revoking it ends every token it issued."""

    id: Snowflake
    user_id: Snowflake
    created_at: datetime
    revoked_at: datetime | None
    user_disabled: bool = False  # an operator disabled the account (or it was deleted)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller of an operation."""

    user_id: Snowflake
    session_id: Snowflake
    access_expires_at: datetime
    # Per-operation memo (permission data by guild); never shared between operations.
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, for rate limits and session records."""

    ip: str
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: Snowflake


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What a refresh-token rotation found: the session it belongs to, or why it failed."""

    status: str  # "rotated" | "reused" | "unknown" | "expired" | "revoked"
    session_id: Snowflake | None = None
    user_id: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: str
    subject: str
    text: str


class ChannelType(enum.IntEnum):
    """GoChat's channel type numbers."""

    TEXT = 0
    VOICE = 1
    CATEGORY = 2
    DM = 3
    GROUP_DM = 4
    THREAD = 5


@dataclass(frozen=True, slots=True)
class Guild:
    id: Snowflake
    name: str
    owner_id: Snowflake
    system_channel_id: Snowflake | None
    created_at: datetime
    icon_id: Snowflake | None = None  # used uploads
    banner_id: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    id: Snowflake
    guild_id: Snowflake
    type: ChannelType
    name: str
    topic: str
    parent_id: Snowflake | None
    position: int
    private: bool
    voice_region: str | None
    created_at: datetime
    user_limit: int = 0  # voice channels: most members in voice at once; 0 is no limit
    # Channel rules (text channels; a thread keeps its own slowmode).
    rate_limit_per_user: int = 0  # slowmode, seconds between one member's messages
    nsfw: bool = False
    default_auto_archive_minutes: int = 1440  # for threads created in the channel
    # Threads only: `parent_id` is the text channel, whose permissions the thread takes.
    owner_id: Snowflake | None = None
    origin_message_id: Snowflake | None = None  # the parent's message it was started from
    auto_archive_minutes: int = 0
    archived: bool = False
    archived_at: datetime | None = None
    locked: bool = False

    @property
    def is_thread(self) -> bool:
        return self.type == ChannelType.THREAD


@dataclass(frozen=True, slots=True)
class ChannelRemoval:
    """A deleted channel and the threads that went with it."""

    channel: Channel
    threads: tuple[Channel, ...] = ()


@dataclass(frozen=True, slots=True)
class ThreadMember:
    guild_id: Snowflake
    thread_id: Snowflake
    user_id: Snowflake
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Role:
    """A guild role. The @everyone role has the guild's id and position 0."""

    id: Snowflake
    guild_id: Snowflake
    name: str
    color: int
    permissions: int
    position: int
    hoist: bool
    mentionable: bool
    created_at: datetime

    @property
    def is_everyone(self) -> bool:
        return self.id == self.guild_id


@dataclass(frozen=True, slots=True)
class Member:
    guild_id: Snowflake
    user_id: Snowflake
    nickname: str | None
    joined_at: datetime
    role_ids: tuple[Snowflake, ...]
    timeout_until: datetime | None
    # Server mute and deafen in the guild's voice channels, kept across voice sessions.
    voice_mute: bool = False
    voice_deaf: bool = False


@dataclass(frozen=True, slots=True)
class Ban:
    guild_id: Snowflake
    user_id: Snowflake
    reason: str | None
    moderator_id: Snowflake
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    guild_id: Snowflake
    channel_id: Snowflake
    inviter_id: Snowflake
    max_uses: int  # 0: unlimited
    uses: int
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Emoji:
    id: Snowflake
    guild_id: Snowflake
    name: str
    creator_id: Snowflake
    animated: bool
    created_at: datetime
    image_id: Snowflake | None = None  # the used upload that is the image


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One administrative change: who did what to which target, with the changed fields."""

    id: Snowflake
    guild_id: Snowflake
    actor_id: Snowflake
    action: str
    target_type: str
    target_id: Snowflake | None
    changes: dict[str, Any]
    reason: str | None
    created_at: datetime


class MessageType(enum.IntEnum):
    """GoChat's message types (0-2) and ours that follow."""

    DEFAULT = 0
    REPLY = 1
    MEMBER_JOINED = 2
    MESSAGE_PINNED = 3
    THREAD_CREATED = 4
    THREAD_STARTER = 5


@dataclass(frozen=True, slots=True)
class Mentions:
    user_ids: tuple[Snowflake, ...] = ()
    role_ids: tuple[Snowflake, ...] = ()
    everyone: bool = False


class MessageFlag(enum.IntFlag):
    """GoChat's message flag bits."""

    NONE = 0
    SUPPRESS_EMBEDS = 4


class EmbedType(enum.StrEnum):
    RICH = "rich"
    IMAGE = "image"
    VIDEO = "video"
    GIFV = "gifv"
    ARTICLE = "article"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class EmbedMedia:
    """An image, thumbnail or video of an embed. `proxy_url` is the media proxy's path for it,
    set on generated embeds when the proxy is on."""

    url: str
    proxy_url: str | None = None
    width: int | None = None
    height: int | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedAuthor:
    name: str
    url: str | None = None
    icon_url: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedFooter:
    text: str
    icon_url: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedProvider:
    name: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedField:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Embed:
    """A rich card on a message: sent by its author (manual) or made from a link in its
    content (generated)."""

    type: EmbedType = EmbedType.RICH
    url: str | None = None
    title: str | None = None
    description: str | None = None
    color: int | None = None
    timestamp: datetime | None = None
    author: EmbedAuthor | None = None
    footer: EmbedFooter | None = None
    image: EmbedMedia | None = None
    thumbnail: EmbedMedia | None = None
    video: EmbedMedia | None = None
    provider: EmbedProvider | None = None
    fields: tuple[EmbedField, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    id: Snowflake
    channel_id: Snowflake
    guild_id: Snowflake | None
    author_id: Snowflake
    type: MessageType
    content: str
    reference_id: Snowflake | None
    mentions: Mentions
    pinned: bool
    edited_at: datetime | None
    flags: MessageFlag = MessageFlag.NONE
    embeds: tuple[Embed, ...] = ()
    """Sent by the author."""
    generated_embeds: tuple[Embed, ...] = ()
    """Made by the embedder from links in the content (shown unless SUPPRESS_EMBEDS)."""
    generated_for: str | None = None
    """The content version (`embeds.content_version`) the generated embeds were made for;
    None until the embedder has handled the current content."""


@dataclass(frozen=True, slots=True)
class ReactionCount:
    """One emoji's reactions on a message: `emoji` is `u:<unicode>` or `c:<custom emoji id>`."""

    emoji: str
    count: int
    me: bool


@dataclass(frozen=True, slots=True)
class ReadState:
    user_id: Snowflake
    channel_id: Snowflake
    last_read_id: Snowflake


@dataclass(frozen=True, slots=True)
class MentionRef:
    message_id: Snowflake
    channel_id: Snowflake
    guild_id: Snowflake | None
    author_id: Snowflake


@dataclass(frozen=True, slots=True)
class DirectChannel:
    """A 1:1 DM (type DM, no owner) or a group DM (type GROUP_DM, with an owner)."""

    id: Snowflake
    type: ChannelType
    owner_id: Snowflake | None
    name: str | None
    recipient_ids: tuple[Snowflake, ...]
    last_message_id: Snowflake | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FriendRequest:
    from_id: Snowflake
    to_id: Snowflake
    created_at: datetime


class PresenceStatus(enum.StrEnum):
    """What a session reports. OFFLINE is only ever shown, never reported: a session that goes
    away is removed, or expires."""

    ONLINE = "online"
    IDLE = "idle"
    DND = "dnd"
    INVISIBLE = "invisible"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class SessionPresence:
    """One live session's own report, as its owner's other devices see it."""

    user_id: Snowflake
    session_id: Snowflake
    status: PresenceStatus
    custom_status: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Presence:
    """A user's presence as everyone else sees it: the live sessions combined."""

    user_id: Snowflake
    status: PresenceStatus
    custom_status: str | None = None


class UploadPurpose(enum.StrEnum):
    """What an upload slot is for; a slot is used once, for its purpose only."""

    ATTACHMENT = "attachment"
    AVATAR = "avatar"
    GUILD_ICON = "guild_icon"
    GUILD_BANNER = "guild_banner"
    EMOJI = "emoji"


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload slot, and once used (`claim` set) the file it became: an attachment of
    `message_id`, an avatar, an icon, a banner or an emoji image. `content_type`, `width`,
    `height` and `animated` are what the server found in the bytes, set when it was used."""

    id: Snowflake
    owner_id: Snowflake
    purpose: UploadPurpose
    channel_id: Snowflake | None
    guild_id: Snowflake | None
    filename: str  # sanitized: safe to show and to save under
    original_filename: str  # as the client gave it
    size: int
    declared_type: str
    key: str
    created_at: datetime
    expires_at: datetime
    claim: str | None = None
    claimed_at: datetime | None = None  # the last (re)claim: a send in flight is recent
    message_id: Snowflake | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    animated: bool = False
    preview_key: str | None = None
    preview_failed: bool = False


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the server found in an uploaded file's bytes."""

    content_type: str
    width: int | None = None
    height: int | None = None
    animated: bool = False

    @property
    def is_image(self) -> bool:
        return self.width is not None


@dataclass(frozen=True, slots=True)
class EmailChange:
    """An applied email change: the address the account left and the one it moved to."""

    user_id: Snowflake
    old_email: str
    new_email: str


@dataclass(frozen=True, slots=True)
class AccountRemoval:
    """What deleting an account took away with it, for the events that tell others."""

    user: User  # the placeholder that remains
    guild_ids: tuple[Snowflake, ...]
    friend_ids: tuple[Snowflake, ...]
    friend_requests: tuple[tuple[Snowflake, Snowflake], ...]  # (from, to) pairs withdrawn


@dataclass(frozen=True, slots=True)
class BackgroundTask:
    """Work queued off the request path: `kind` names the handler, `params` its input."""

    id: Snowflake
    kind: str
    user_id: Snowflake
    guild_id: Snowflake | None
    params: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VoiceState:
    """A user in a voice channel: one per user. `session_id` names one join (a rejoin, or a
    move, gets a new one); `connected` turns true once the SFU reports the member in its room
    (before that the state holds the member's place while the client connects)."""

    user_id: Snowflake
    guild_id: Snowflake
    channel_id: Snowflake
    session_id: Snowflake
    sfu_id: str
    region: str
    self_mute: bool = False
    self_deaf: bool = False
    server_mute: bool = False
    server_deaf: bool = False
    video: bool = False
    speaking: bool = False
    connected: bool = False
