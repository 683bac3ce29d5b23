"""Domain events: facts published after the state change is durable.

Every event is a frozen dataclass with a stable `TYPE` name and `VERSION`; `gochat.bus.codec`
turns them into bytes and back in one place, for the in-process bus and NATS alike. Events carry
the full objects a client needs to update its view without a refetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from gochat.domain.permissions import Overwrite
from gochat.domain.records import (
    Ban,
    Channel,
    DirectChannel,
    Emoji,
    FriendRequest,
    Guild,
    Invite,
    Member,
    Message,
    Presence,
    ReadState,
    Role,
    User,
    UserSettings,
    VoiceState,
)
from gochat.ids import Snowflake


@dataclass(frozen=True, slots=True)
class Event:
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    event_id: Snowflake


@dataclass(frozen=True, slots=True)
class UserUpdated(Event):
    TYPE: ClassVar[str] = "UserUpdated"

    user: User


@dataclass(frozen=True, slots=True)
class UserSettingsUpdated(Event):
    TYPE: ClassVar[str] = "UserSettingsUpdated"

    settings: UserSettings


@dataclass(frozen=True, slots=True)
class SessionRevoked(Event):
    """A session ended (logout, reuse detection, password change); its sockets must close."""

    TYPE: ClassVar[str] = "SessionRevoked"

    user_id: Snowflake
    session_id: Snowflake | None  # None: every session of the user...
    kept_session_id: Snowflake | None = None  # ...but this one (a password change's own)

    def ends(self, session_id: Snowflake) -> bool:
        """Whether this revocation ends the user's session `session_id`."""
        if self.session_id is None:
            return session_id != self.kept_session_id
        return session_id == self.session_id


ALL_EVENT_TYPES: tuple[type[Event], ...] = (UserUpdated, UserSettingsUpdated, SessionRevoked)


# --- guilds --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuildCreated(Event):
    TYPE: ClassVar[str] = "GuildCreated"
    guild: Guild


@dataclass(frozen=True, slots=True)
class GuildUpdated(Event):
    TYPE: ClassVar[str] = "GuildUpdated"
    guild: Guild


@dataclass(frozen=True, slots=True)
class GuildDeleted(Event):
    TYPE: ClassVar[str] = "GuildDeleted"
    guild_id: Snowflake


@dataclass(frozen=True, slots=True)
class ChannelCreated(Event):
    TYPE: ClassVar[str] = "ChannelCreated"
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelUpdated(Event):
    TYPE: ClassVar[str] = "ChannelUpdated"
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelDeleted(Event):
    TYPE: ClassVar[str] = "ChannelDeleted"
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelsReordered(Event):
    TYPE: ClassVar[str] = "ChannelsReordered"
    guild_id: Snowflake
    channels: tuple[Channel, ...]


@dataclass(frozen=True, slots=True)
class OverwriteUpdated(Event):
    TYPE: ClassVar[str] = "OverwriteUpdated"
    guild_id: Snowflake
    overwrite: Overwrite


@dataclass(frozen=True, slots=True)
class OverwriteDeleted(Event):
    TYPE: ClassVar[str] = "OverwriteDeleted"
    guild_id: Snowflake
    overwrite: Overwrite


@dataclass(frozen=True, slots=True)
class RoleCreated(Event):
    TYPE: ClassVar[str] = "RoleCreated"
    role: Role


@dataclass(frozen=True, slots=True)
class RoleUpdated(Event):
    TYPE: ClassVar[str] = "RoleUpdated"
    role: Role


@dataclass(frozen=True, slots=True)
class RoleDeleted(Event):
    TYPE: ClassVar[str] = "RoleDeleted"
    role: Role


@dataclass(frozen=True, slots=True)
class RolesReordered(Event):
    TYPE: ClassVar[str] = "RolesReordered"
    guild_id: Snowflake
    roles: tuple[Role, ...]


@dataclass(frozen=True, slots=True)
class MemberJoined(Event):
    TYPE: ClassVar[str] = "MemberJoined"
    member: Member


@dataclass(frozen=True, slots=True)
class MemberUpdated(Event):
    TYPE: ClassVar[str] = "MemberUpdated"
    member: Member


@dataclass(frozen=True, slots=True)
class MemberRemoved(Event):
    """reason: left | kicked | banned."""

    TYPE: ClassVar[str] = "MemberRemoved"
    guild_id: Snowflake
    user_id: Snowflake
    reason: str


@dataclass(frozen=True, slots=True)
class MemberBanned(Event):
    TYPE: ClassVar[str] = "MemberBanned"
    ban: Ban


@dataclass(frozen=True, slots=True)
class MemberUnbanned(Event):
    TYPE: ClassVar[str] = "MemberUnbanned"
    ban: Ban


@dataclass(frozen=True, slots=True)
class InviteCreated(Event):
    TYPE: ClassVar[str] = "InviteCreated"
    invite: Invite


@dataclass(frozen=True, slots=True)
class InviteRevoked(Event):
    TYPE: ClassVar[str] = "InviteRevoked"
    invite: Invite


@dataclass(frozen=True, slots=True)
class EmojiCreated(Event):
    TYPE: ClassVar[str] = "EmojiCreated"
    emoji: Emoji


@dataclass(frozen=True, slots=True)
class EmojiUpdated(Event):
    TYPE: ClassVar[str] = "EmojiUpdated"
    emoji: Emoji


@dataclass(frozen=True, slots=True)
class EmojiDeleted(Event):
    TYPE: ClassVar[str] = "EmojiDeleted"
    emoji: Emoji


ALL_EVENT_TYPES = (
    *ALL_EVENT_TYPES,
    GuildCreated,
    GuildUpdated,
    GuildDeleted,
    ChannelCreated,
    ChannelUpdated,
    ChannelDeleted,
    ChannelsReordered,
    OverwriteUpdated,
    OverwriteDeleted,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    RolesReordered,
    MemberJoined,
    MemberUpdated,
    MemberRemoved,
    MemberBanned,
    MemberUnbanned,
    InviteCreated,
    InviteRevoked,
    EmojiCreated,
    EmojiUpdated,
    EmojiDeleted,
)


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageCreated(Event):
    TYPE: ClassVar[str] = "MessageCreated"
    message: Message
    attachment_ids: tuple[Snowflake, ...] = ()
    """The uploads the send attached (events of older processes carry none): the media worker
    is given the message only when there are some."""


@dataclass(frozen=True, slots=True)
class MessageUpdated(Event):
    TYPE: ClassVar[str] = "MessageUpdated"
    message: Message


@dataclass(frozen=True, slots=True)
class MessagesDeleted(Event):
    TYPE: ClassVar[str] = "MessagesDeleted"
    channel_id: Snowflake
    guild_id: Snowflake | None
    message_ids: tuple[Snowflake, ...]


ALL_EVENT_TYPES = (*ALL_EVENT_TYPES, MessageCreated, MessageUpdated, MessagesDeleted)


@dataclass(frozen=True, slots=True)
class ReactionAdded(Event):
    TYPE: ClassVar[str] = "ReactionAdded"
    channel_id: Snowflake
    message_id: Snowflake
    user_id: Snowflake
    emoji: str
    guild_id: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class ReactionRemoved(Event):
    TYPE: ClassVar[str] = "ReactionRemoved"
    channel_id: Snowflake
    message_id: Snowflake
    user_id: Snowflake
    emoji: str
    guild_id: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class MessagePinned(Event):
    """A message was pinned (`message.pinned` true) or unpinned (false)."""

    TYPE: ClassVar[str] = "MessagePinned"
    message: Message


@dataclass(frozen=True, slots=True)
class ReadStateUpdated(Event):
    TYPE: ClassVar[str] = "ReadStateUpdated"
    state: ReadState


ALL_EVENT_TYPES = (
    *ALL_EVENT_TYPES,
    ReactionAdded,
    ReactionRemoved,
    MessagePinned,
    ReadStateUpdated,
)


@dataclass(frozen=True, slots=True)
class DirectChannelUpdated(Event):
    """A DM or group DM was created or changed (members, owner); sent to its participants."""

    TYPE: ClassVar[str] = "DirectChannelUpdated"
    channel: DirectChannel


@dataclass(frozen=True, slots=True)
class DirectChannelLeft(Event):
    """The user is no longer in a group DM (left, removed, or the group ended)."""

    TYPE: ClassVar[str] = "DirectChannelLeft"
    channel_id: Snowflake
    user_id: Snowflake


@dataclass(frozen=True, slots=True)
class FriendRequestReceived(Event):
    TYPE: ClassVar[str] = "FriendRequestReceived"
    request: FriendRequest


@dataclass(frozen=True, slots=True)
class FriendRequestRemoved(Event):
    """A pending request was declined or cancelled."""

    TYPE: ClassVar[str] = "FriendRequestRemoved"
    from_id: Snowflake
    to_id: Snowflake


@dataclass(frozen=True, slots=True)
class FriendAdded(Event):
    TYPE: ClassVar[str] = "FriendAdded"
    user_id: Snowflake
    friend_id: Snowflake


@dataclass(frozen=True, slots=True)
class FriendRemoved(Event):
    TYPE: ClassVar[str] = "FriendRemoved"
    user_id: Snowflake
    friend_id: Snowflake


ALL_EVENT_TYPES = (
    *ALL_EVENT_TYPES,
    DirectChannelUpdated,
    DirectChannelLeft,
    FriendRequestReceived,
    FriendRequestRemoved,
    FriendAdded,
    FriendRemoved,
)


# --- threads: channels under a text channel, seen by whoever can see the parent -----------


@dataclass(frozen=True, slots=True)
class ThreadCreated(Event):
    TYPE: ClassVar[str] = "ThreadCreated"
    thread: Channel


@dataclass(frozen=True, slots=True)
class ThreadUpdated(Event):
    """Renamed, archived or unarchived, locked or unlocked, auto-archive changed."""

    TYPE: ClassVar[str] = "ThreadUpdated"
    thread: Channel


@dataclass(frozen=True, slots=True)
class ThreadDeleted(Event):
    TYPE: ClassVar[str] = "ThreadDeleted"
    thread: Channel


@dataclass(frozen=True, slots=True)
class ThreadMembersUpdated(Event):
    TYPE: ClassVar[str] = "ThreadMembersUpdated"
    thread: Channel
    added_user_ids: tuple[Snowflake, ...] = ()
    removed_user_ids: tuple[Snowflake, ...] = ()


ALL_EVENT_TYPES = (
    *ALL_EVENT_TYPES,
    ThreadCreated,
    ThreadUpdated,
    ThreadDeleted,
    ThreadMembersUpdated,
)


# --- presence and typing: ephemeral, fanned out to whoever listens, never recorded ---------


@dataclass(frozen=True, slots=True)
class PresenceUpdated(Event):
    """A user's presence as others see it (invisible shows as offline)."""

    TYPE: ClassVar[str] = "PresenceUpdated"
    presence: Presence


@dataclass(frozen=True, slots=True)
class TypingStarted(Event):
    TYPE: ClassVar[str] = "TypingStarted"
    channel_id: Snowflake
    guild_id: Snowflake | None
    user_id: Snowflake
    expires_at: datetime


ALL_EVENT_TYPES = (*ALL_EVENT_TYPES, PresenceUpdated, TypingStarted)


# --- voice: ephemeral, on the guild's voice subject, never recorded ------------------------


@dataclass(frozen=True, slots=True)
class VoiceStateUpdated(Event):
    """A member's voice state in `channel_id` appeared or changed; `state` None: they left
    that channel (hung up, moved, disconnected, or their voice server died)."""

    TYPE: ClassVar[str] = "VoiceStateUpdated"
    guild_id: Snowflake
    channel_id: Snowflake
    user_id: Snowflake
    state: VoiceState | None


@dataclass(frozen=True, slots=True)
class SpeakingUpdated(Event):
    TYPE: ClassVar[str] = "SpeakingUpdated"
    guild_id: Snowflake
    channel_id: Snowflake
    user_id: Snowflake
    speaking: bool


@dataclass(frozen=True, slots=True)
class VoiceServerUpdated(Event):
    """Where one member must connect now (moved by a moderator, or the channel's region
    changed): delivered to that member alone."""

    TYPE: ClassVar[str] = "VoiceServerUpdated"
    guild_id: Snowflake
    channel_id: Snowflake
    user_id: Snowflake
    sfu_url: str
    token: str
    region: str
    expires_at: datetime


ALL_EVENT_TYPES = (*ALL_EVENT_TYPES, VoiceStateUpdated, SpeakingUpdated, VoiceServerUpdated)
