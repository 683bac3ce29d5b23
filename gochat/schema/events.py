"""GraphQL types of the events delivered to subscribers, in past tense, carrying full objects.

`from_domain` is the one mapping from domain events to these types. Its result is the root
value of a subscription's execution and is shared by every subscriber that receives the event,
so nothing here may depend on the viewer unless a field asks `info.context.viewer()` (the hub
then executes that document per subscriber).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gochat.domain import events
from gochat.domain.audience import VisibilityChange
from gochat.ids import Snowflake
from gochat.schema.accounts import User, UserSettings, load_user
from gochat.schema.channels import Channel, PermissionOverwrite, channel_shape
from gochat.schema.common import to_id
from gochat.schema.context import Info
from gochat.schema.direct_messages import DirectMessageChannel
from gochat.schema.guilds import Ban, Emoji, Guild, Member, Role
from gochat.schema.invites import Invite
from gochat.schema.messages import Message, ReactionEmoji, ReadState
from gochat.schema.presence import Presence, PresenceUpdated, TypingStarted
from gochat.schema.threads import (
    ThreadCreated,
    ThreadDeleted,
    ThreadMembersUpdated,
    ThreadUpdated,
    from_thread_event,
)
from gochat.schema.voice import SpeakingUpdated, VoiceServerUpdated, VoiceStateUpdated, voice_event


@strawberry.type(description="A user's public profile changed.")
class UserUpdated:
    user: User = strawberry.field(description="The profile as it is now.")


@strawberry.type(description="The signed-in user's settings document was replaced.")
class UserSettingsUpdated:
    settings: UserSettings = strawberry.field(description="The document as stored now.")


@strawberry.type(
    description="A session of the signed-in user ended. When it is this connection's session "
    "(or `sessionId` is null: every session), the stream ends after this event and the "
    "connection closes (4401): sign in again."
)
class SessionRevoked:
    session_id: strawberry.ID | None = strawberry.field(
        description="The ended session; null when every session ended."
    )


@strawberry.type(
    description="Events may have been missed (the server lost its event bus for a moment, or "
    "this subscriber fell behind). Refetch what is on screen; the stream goes on."
)
class ResyncRequired:
    reason: str = strawberry.field(description="Why, for logs.")


@strawberry.type(description="You created or joined a guild.")
class GuildCreated:
    guild: Guild = strawberry.field(description="The guild.")


@strawberry.type(description="A guild's name, owner or system channel changed.")
class GuildUpdated:
    guild: Guild = strawberry.field(description="The guild as it is now.")


@strawberry.type(description="A guild was deleted; nothing more arrives for it.")
class GuildDeleted:
    guild_id: strawberry.ID = strawberry.field(description="The deleted guild.")


@strawberry.type(description="A channel you can view was created.")
class ChannelCreated:
    channel: Channel = strawberry.field(description="The new channel.")


@strawberry.type(description="A channel you can view changed (name, topic, category, privacy).")
class ChannelUpdated:
    channel: Channel = strawberry.field(description="The channel as it is now.")


@strawberry.type(description="A channel you could view was deleted.")
class ChannelDeleted:
    channel: Channel = strawberry.field(description="The channel as it was.")


@strawberry.type(
    description="You can no longer view a channel (an overwrite, a role or your roles changed): "
    "remove it from your view; nothing more arrives for it until ChannelVisibilityGained."
)
class ChannelVisibilityLost:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    channel_id: strawberry.ID = strawberry.field(description="The channel you can no longer view.")


@strawberry.type(
    description="You can now view a channel you could not see (an overwrite, a role or your "
    "roles changed): add it to your view. Its events reach you from now on."
)
class ChannelVisibilityGained:
    channel: Channel = strawberry.field(description="The channel you can now view.")


@strawberry.type(description="Channels of a guild were reordered.")
class ChannelsReordered:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    all_channels: strawberry.Private[tuple[Channel, ...]]

    @strawberry.field(description="The reordered channels you can view, with their positions.")
    async def channels(self, info: Info) -> list[Channel]:
        viewer = await info.context.viewer()
        audience = info.context.services.audience
        guild_id = Snowflake(int(self.guild_id))
        return [
            c
            for c in self.all_channels
            if await audience.can_view_channel(guild_id, viewer.user_id, c.record)
        ]


@strawberry.type(description="A permission overwrite was set on a channel you can view.")
class OverwriteUpdated:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    overwrite: PermissionOverwrite = strawberry.field(description="The overwrite as it is now.")


@strawberry.type(description="A permission overwrite was removed from a channel you can view.")
class OverwriteDeleted:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    overwrite: PermissionOverwrite = strawberry.field(description="The overwrite as it was.")


@strawberry.type(description="A role was created.")
class RoleCreated:
    role: Role = strawberry.field(description="The new role.")


@strawberry.type(description="A role changed (name, color, permissions, position).")
class RoleUpdated:
    role: Role = strawberry.field(description="The role as it is now.")


@strawberry.type(description="A role was deleted.")
class RoleDeleted:
    role: Role = strawberry.field(description="The role as it was.")


@strawberry.type(description="Roles of a guild were reordered.")
class RolesReordered:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    roles: list[Role] = strawberry.field(description="The moved roles with their new positions.")


@strawberry.type(description="Someone joined a guild (you, when it is your own membership).")
class MemberJoined:
    member: Member = strawberry.field(description="The new membership.")


@strawberry.type(description="A member's nickname, roles or timeout changed.")
class MemberUpdated:
    member: Member = strawberry.field(description="The membership as it is now.")


@strawberry.type(
    description="A member left, was kicked or banned. When it is you, nothing more arrives for "
    "that guild."
)
class MemberRemoved:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="The user who is no longer a member.")
    reason: str = strawberry.field(description="left, kicked or banned.")


@strawberry.type(description="A user was banned (for members with BAN_MEMBERS).")
class MemberBanned:
    ban: Ban = strawberry.field(description="The new ban.")


@strawberry.type(description="A ban was lifted (for members with BAN_MEMBERS).")
class MemberUnbanned:
    ban: Ban = strawberry.field(description="The lifted ban.")


@strawberry.type(description="An invite was created (for members with MANAGE_SERVER).")
class InviteCreated:
    invite: Invite = strawberry.field(description="The new invite.")


@strawberry.type(description="An invite was revoked (for members with MANAGE_SERVER).")
class InviteRevoked:
    invite: Invite = strawberry.field(description="The invite, now revoked.")


@strawberry.type(description="A custom emoji was added.")
class EmojiCreated:
    emoji: Emoji = strawberry.field(description="The new emoji.")


@strawberry.type(description="A custom emoji was renamed.")
class EmojiUpdated:
    emoji: Emoji = strawberry.field(description="The emoji as it is now.")


@strawberry.type(description="A custom emoji was deleted.")
class EmojiDeleted:
    emoji: Emoji = strawberry.field(description="The emoji as it was.")


@strawberry.type(description="A message was sent in a channel you can view.")
class MessageCreated:
    message: Message = strawberry.field(description="The new message.")


@strawberry.type(description="A message was edited.")
class MessageUpdated:
    message: Message = strawberry.field(description="The message as it is now.")


@strawberry.type(description="Messages were deleted from a channel.")
class MessagesDeleted:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    guild_id: strawberry.ID | None = strawberry.field(
        description="The channel's guild; null in DMs."
    )
    message_ids: list[strawberry.ID] = strawberry.field(description="The deleted messages.")


@strawberry.type(description="Someone reacted to a message.")
class ReactionAdded:
    channel_id: strawberry.ID = strawberry.field(description="The message's channel.")
    message_id: strawberry.ID = strawberry.field(description="The message.")
    user_id: strawberry.ID = strawberry.field(description="Who reacted.")
    emoji: ReactionEmoji = strawberry.field(description="The emoji.")


@strawberry.type(description="A reaction was removed from a message.")
class ReactionRemoved:
    channel_id: strawberry.ID = strawberry.field(description="The message's channel.")
    message_id: strawberry.ID = strawberry.field(description="The message.")
    user_id: strawberry.ID = strawberry.field(description="Whose reaction was removed.")
    emoji: ReactionEmoji = strawberry.field(description="The emoji.")


@strawberry.type(description="A message was pinned (`message.pinned` true) or unpinned (false).")
class MessagePinned:
    message: Message = strawberry.field(description="The message as it is now.")


@strawberry.type(description="Your read marker moved (on any of your devices).")
class ReadStateUpdated:
    read_state: ReadState = strawberry.field(description="The marker as it is now.")


@strawberry.type(description="A DM or group DM you are in was created or changed.")
class DirectChannelUpdated:
    channel: DirectMessageChannel = strawberry.field(description="The channel as it is now.")


@strawberry.type(description="Someone left a group DM (you, when it is your own leaving).")
class DirectChannelLeft:
    channel_id: strawberry.ID = strawberry.field(description="The group DM.")
    user_id: strawberry.ID = strawberry.field(description="Who left.")


@strawberry.type(description="A friend request was sent to you, or by you.")
class FriendRequestReceived:
    from_id: strawberry.ID = strawberry.field(description="Who sent it.")
    to_id: strawberry.ID = strawberry.field(description="Who it was sent to.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @strawberry.field(description="Who sent it.")
    async def from_user(self, info: Info) -> User | None:
        return await load_user(info, int(self.from_id))

    @strawberry.field(description="Who it was sent to.")
    async def to_user(self, info: Info) -> User | None:
        return await load_user(info, int(self.to_id))


@strawberry.type(description="A pending friend request was declined or cancelled.")
class FriendRequestRemoved:
    from_id: strawberry.ID = strawberry.field(description="Who had sent it.")
    to_id: strawberry.ID = strawberry.field(description="Who it had been sent to.")


@strawberry.type(description="You have a new friend.")
class FriendAdded:
    friend_id: strawberry.ID = strawberry.field(description="The new friend.")

    @strawberry.field(description="The new friend.")
    async def friend(self, info: Info) -> User | None:
        return await load_user(info, int(self.friend_id))


@strawberry.type(description="A friendship ended.")
class FriendRemoved:
    friend_id: strawberry.ID = strawberry.field(description="The former friend.")


EventType = (
    UserUpdated
    | UserSettingsUpdated
    | SessionRevoked
    | ResyncRequired
    | GuildCreated
    | GuildUpdated
    | GuildDeleted
    | ChannelCreated
    | ChannelUpdated
    | ChannelDeleted
    | ChannelsReordered
    | ChannelVisibilityLost
    | ChannelVisibilityGained
    | OverwriteUpdated
    | OverwriteDeleted
    | RoleCreated
    | RoleUpdated
    | RoleDeleted
    | RolesReordered
    | MemberJoined
    | MemberUpdated
    | MemberRemoved
    | MemberBanned
    | MemberUnbanned
    | InviteCreated
    | InviteRevoked
    | EmojiCreated
    | EmojiUpdated
    | EmojiDeleted
    | MessageCreated
    | MessageUpdated
    | MessagesDeleted
    | ReactionAdded
    | ReactionRemoved
    | MessagePinned
    | ReadStateUpdated
    | DirectChannelUpdated
    | DirectChannelLeft
    | FriendRequestReceived
    | FriendRequestRemoved
    | FriendAdded
    | FriendRemoved
    | PresenceUpdated
    | TypingStarted
    # threads
    | ThreadCreated
    | ThreadUpdated
    | ThreadDeleted
    | ThreadMembersUpdated
    # voice
    | VoiceStateUpdated
    | SpeakingUpdated
    | VoiceServerUpdated
)

Event = Annotated[
    EventType,
    strawberry.union("Event", description="Anything that happened that the subscriber may see."),
]

PresenceEvent = Annotated[
    PresenceUpdated | ResyncRequired,
    strawberry.union("PresenceEvent", description="A presence change, or: refetch presence."),
]

TypingEvent = Annotated[
    TypingStarted | ResyncRequired,
    strawberry.union("TypingEvent", description="Someone typing, or: indicators were missed."),
]


def from_visibility(guild_id: int, change: VisibilityChange) -> list[EventType]:
    """What one viewer is told when an event hid channels from them or showed them some."""
    lost: list[EventType] = [
        ChannelVisibilityLost(guild_id=to_id(guild_id), channel_id=to_id(c)) for c in change.lost
    ]
    gained: list[EventType] = [
        ChannelVisibilityGained(channel=channel_shape(c)) for c in change.gained
    ]
    return [*lost, *gained]


def from_domain(event: events.Event) -> EventType | None:
    """The GraphQL shape of a domain event, or None for events clients do not receive."""
    match event:
        case events.UserUpdated(user=user):
            return UserUpdated(user=User.from_record(user))
        case events.UserSettingsUpdated(settings=settings):
            return UserSettingsUpdated(settings=UserSettings.from_record(settings))
        case events.SessionRevoked(session_id=session_id):
            return SessionRevoked(session_id=None if session_id is None else to_id(session_id))
        case events.GuildCreated(guild=g):
            return GuildCreated(guild=Guild(record=g))
        case events.GuildUpdated(guild=g):
            return GuildUpdated(guild=Guild(record=g))
        case events.GuildDeleted(guild_id=g):
            return GuildDeleted(guild_id=to_id(g))
        case events.ChannelCreated(channel=c):
            return ChannelCreated(channel=channel_shape(c))
        case events.ChannelUpdated(channel=c):
            return ChannelUpdated(channel=channel_shape(c))
        case events.ChannelDeleted(channel=c):
            return ChannelDeleted(channel=channel_shape(c))
        case events.ChannelsReordered(guild_id=g, channels=cs):
            return ChannelsReordered(
                guild_id=to_id(g), all_channels=tuple(channel_shape(c) for c in cs)
            )
        case events.OverwriteUpdated(guild_id=g, overwrite=o):
            return OverwriteUpdated(guild_id=to_id(g), overwrite=PermissionOverwrite(record=o))
        case events.OverwriteDeleted(guild_id=g, overwrite=o):
            return OverwriteDeleted(guild_id=to_id(g), overwrite=PermissionOverwrite(record=o))
        case events.RoleCreated(role=r):
            return RoleCreated(role=Role(record=r))
        case events.RoleUpdated(role=r):
            return RoleUpdated(role=Role(record=r))
        case events.RoleDeleted(role=r):
            return RoleDeleted(role=Role(record=r))
        case events.RolesReordered(guild_id=g, roles=rs):
            return RolesReordered(guild_id=to_id(g), roles=[Role(record=r) for r in rs])
        case events.MemberJoined(member=m):
            return MemberJoined(member=Member(record=m))
        case events.MemberUpdated(member=m):
            return MemberUpdated(member=Member(record=m))
        case events.MemberRemoved(guild_id=g, user_id=u, reason=reason):
            return MemberRemoved(guild_id=to_id(g), user_id=to_id(u), reason=reason)
        case events.MemberBanned(ban=b):
            return MemberBanned(ban=Ban(record=b))
        case events.MemberUnbanned(ban=b):
            return MemberUnbanned(ban=Ban(record=b))
        case events.InviteCreated(invite=i):
            return InviteCreated(invite=Invite(record=i))
        case events.InviteRevoked(invite=i):
            return InviteRevoked(invite=Invite(record=i))
        case events.EmojiCreated(emoji=e):
            return EmojiCreated(emoji=Emoji(record=e))
        case events.EmojiUpdated(emoji=e):
            return EmojiUpdated(emoji=Emoji(record=e))
        case events.EmojiDeleted(emoji=e):
            return EmojiDeleted(emoji=Emoji(record=e))
    return from_thread_event(event) or _from_message_event(event)


def _from_message_event(event: events.Event) -> EventType | None:
    match event:
        case events.MessageCreated(message=m):
            return MessageCreated(message=Message(record=m))
        case events.MessageUpdated(message=m):
            return MessageUpdated(message=Message(record=m))
        case events.MessagesDeleted(channel_id=c, guild_id=g, message_ids=ids):
            return MessagesDeleted(
                channel_id=to_id(c),
                guild_id=None if g is None else to_id(g),
                message_ids=[to_id(i) for i in ids],
            )
        case events.ReactionAdded(channel_id=c, message_id=m, user_id=u, emoji=e):
            return ReactionAdded(
                channel_id=to_id(c),
                message_id=to_id(m),
                user_id=to_id(u),
                emoji=ReactionEmoji.from_key(e),
            )
        case events.ReactionRemoved(channel_id=c, message_id=m, user_id=u, emoji=e):
            return ReactionRemoved(
                channel_id=to_id(c),
                message_id=to_id(m),
                user_id=to_id(u),
                emoji=ReactionEmoji.from_key(e),
            )
        case events.MessagePinned(message=m):
            return MessagePinned(message=Message(record=m))
        case events.ReadStateUpdated(state=s):
            return ReadStateUpdated(
                read_state=ReadState(
                    channel_id=to_id(s.channel_id), last_read_message_id=to_id(s.last_read_id)
                )
            )
        case events.DirectChannelUpdated(channel=c):
            return DirectChannelUpdated(channel=DirectMessageChannel(record=c))
        case events.DirectChannelLeft(channel_id=c, user_id=u):
            return DirectChannelLeft(channel_id=to_id(c), user_id=to_id(u))
        case events.FriendRequestReceived(request=r):
            return FriendRequestReceived(
                from_id=to_id(r.from_id), to_id=to_id(r.to_id), created_at=r.created_at
            )
        case events.FriendRequestRemoved(from_id=f, to_id=t):
            return FriendRequestRemoved(from_id=to_id(f), to_id=to_id(t))
        case events.FriendAdded(friend_id=f):
            return FriendAdded(friend_id=to_id(f))
        case events.FriendRemoved(friend_id=f):
            return FriendRemoved(friend_id=to_id(f))
        case events.PresenceUpdated(presence=p):
            return PresenceUpdated(presence=Presence.from_record(p))
        case events.TypingStarted(channel_id=c, guild_id=g, user_id=u, expires_at=at):
            return TypingStarted(
                channel_id=to_id(c),
                guild_id=None if g is None else to_id(g),
                user_id=to_id(u),
                expires_at=at,
            )
    return voice_event(event)
