"""GraphQL types for guilds, channels, roles, members, overwrites, bans, invites, emoji and
the audit log. Fields that need the viewer resolve through domain services, which authorize."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gochat.domain import permissions as perms
from gochat.domain import records
from gochat.ids import Snowflake
from gochat.schema.accounts import User, load_user
from gochat.schema.attachments import public_file_url
from gochat.schema.audit_log import AuditAction, AuditLogConnection, AuditLogEdge, AuditLogEntry
from gochat.schema.common import (
    EDGE_CURSOR,
    EDGE_NODE,
    EDGES,
    PAGE_INFO,
    Node,
    PageInfo,
    Permissions,
    encode_cursor,
    member_id,
    page_info,
    snowflake,
    to_id,
)
from gochat.schema.context import Info
from gochat.schema.invites import Invite
from gochat.schema.messages import (
    HistoryAfter,
    HistoryAround,
    HistoryBefore,
    HistoryFirst,
    HistoryLast,
    Message,
    MessageConnection,
    SizeArgument,
    emoji_size,
    history_connection,
)
from gochat.schema.pagination import page_args

if TYPE_CHECKING:
    from gochat.schema.voice import VoiceState


@strawberry.enum(description="Channel kinds, with GoChat's numbers.")
class ChannelType(enum.Enum):
    _value_: int
    TEXT = strawberry.enum_value(0, description="A guild text channel (TextChannel).")
    VOICE = strawberry.enum_value(1, description="A guild voice channel (VoiceChannel).")
    CATEGORY = strawberry.enum_value(2, description="A guild category (CategoryChannel).")
    DM = strawberry.enum_value(3, description="A 1:1 DM (DirectMessageChannel).")
    GROUP_DM = strawberry.enum_value(4, description="A group DM (DirectMessageChannel).")
    THREAD = strawberry.enum_value(5, description="Reserved for threads; not created yet.")


@strawberry.enum(description="What a permission overwrite applies to.")
class OverwriteTarget(enum.Enum):
    _value_: str
    ROLE = strawberry.enum_value(perms.ROLE, description="The overwrite applies to a role.")
    MEMBER = strawberry.enum_value(perms.MEMBER, description="The overwrite applies to one member.")


@strawberry.type(description="A role in a guild. @everyone has the guild's id and position 0.")
class Role(Node):
    record: strawberry.Private[records.Role]

    @strawberry.field(description="Role id (the guild id for @everyone).")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="1-100 characters.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="RGB color, 0-16777215.")
    def color(self) -> int:
        return self.record.color

    @strawberry.field(description="What the role grants guild-wide.")
    def permissions(self) -> Permissions:
        return Permissions.from_mask(self.record.permissions)

    @strawberry.field(description="Higher is more senior; @everyone is 0.")
    def position(self) -> int:
        return self.record.position

    @strawberry.field(description="Shown separately in member lists.")
    def hoist(self) -> bool:
        return self.record.hoist

    @strawberry.field(description="Anyone may mention it.")
    def mentionable(self) -> bool:
        return self.record.mentionable

    @strawberry.field(description="True for @everyone.")
    def is_everyone(self) -> bool:
        return self.record.is_everyone

    @strawberry.field(description="When the role was created (for @everyone: when the guild was).")
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="An allow/deny pair on one channel for a role or a member.")
class PermissionOverwrite:
    record: strawberry.Private[perms.Overwrite]

    @strawberry.field(description="The channel the overwrite is on.")
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field(description="Whether `targetId` is a role or a member.")
    def target_type(self) -> OverwriteTarget:
        return OverwriteTarget(self.record.target_type)

    @strawberry.field(description="Role id or user id.")
    def target_id(self) -> strawberry.ID:
        return to_id(self.record.target_id)

    @strawberry.field(description="Permissions granted in this channel over what the roles give.")
    def allow(self) -> Permissions:
        return Permissions.from_mask(self.record.allow)

    @strawberry.field(description="Permissions taken away in this channel.")
    def deny(self) -> Permissions:
        return Permissions.from_mask(self.record.deny)


@strawberry.interface(
    description="A guild channel. Fields every kind has are here; select the rest with "
    "`... on TextChannel` (history, unread counts, pins), `... on VoiceChannel` or "
    "`... on CategoryChannel`. `type` tells the kind too."
)
class Channel(Node):
    record: strawberry.Private[records.Channel]

    @strawberry.field(description="Snowflake id of the channel.")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="The guild the channel belongs to.")
    def guild_id(self) -> strawberry.ID:
        return to_id(self.record.guild_id)

    @strawberry.field(
        description="The channel's kind; the same as its GraphQL type (TEXT, VOICE or CATEGORY)."
    )
    def type(self) -> ChannelType:
        return ChannelType(int(self.record.type))

    @strawberry.field(
        description="Text channels: 1-100 lower-case letters (any script), digits, - or _; "
        "others: 1-100 characters."
    )
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="At most 1024 characters.")
    def topic(self) -> str:
        return self.record.topic

    @strawberry.field(description="The category holding this channel.")
    def parent_id(self) -> strawberry.ID | None:
        return None if self.record.parent_id is None else to_id(self.record.parent_id)

    @strawberry.field(description="Order among the channels of the same parent, from 0.")
    def position(self) -> int:
        return self.record.position

    @strawberry.field(description="Hidden from @everyone unless an overwrite allows viewing.")
    def private(self) -> bool:
        return self.record.private

    @strawberry.field(description="When the channel was created.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(description="The signed-in user's permissions in this channel.")
    async def my_permissions(self, info: Info) -> Permissions:
        viewer = await info.context.viewer()
        view, channel = await info.context.services.channels.access(viewer, self.record.id)
        return Permissions.from_mask(view.permissions_in(channel))

    @strawberry.field(description="Overwrites on this channel.")
    async def overwrites(self, info: Info) -> list[PermissionOverwrite]:
        viewer = await info.context.viewer()
        view, _ = await info.context.services.channels.access(viewer, self.record.id)
        return [PermissionOverwrite(record=o) for o in view.channel_overwrites(self.record.id)]

    @strawberry.field(
        description="Usable invites to this channel; null with FORBIDDEN without MANAGE_CHANNELS."
    )
    async def invites(self, info: Info) -> list[Invite] | None:
        viewer = await info.context.viewer()
        found = await info.context.services.invites.list_for_channel(viewer, self.record.id)
        return [Invite(record=i) for i in found]


@strawberry.type(description="A text channel: it holds messages.")
class TextChannel(Channel):
    @strawberry.field(
        description="History as a connection, oldest first. `first` reads forward from the "
        "oldest message or from `after`; `last` (default 50) reads back from the newest or from "
        "`before`; `around` centers on a message. Pages hold at most 100. Null with FORBIDDEN "
        "without READ_MESSAGE_HISTORY."
    )
    async def messages(
        self,
        info: Info,
        *,
        first: HistoryFirst = None,
        after: HistoryAfter = None,
        last: HistoryLast = None,
        before: HistoryBefore = None,
        around: HistoryAround = None,
    ) -> MessageConnection | None:
        return await history_connection(
            info, self.record.id, first=first, after=after, last=last, before=before, around=around
        )

    @strawberry.field(description="The newest message's id; null in an empty channel.")
    async def last_message_id(self, info: Info) -> strawberry.ID | None:
        found = await info.context.loaders.last_message_by_channel.load(Snowflake(self.record.id))
        return None if found is None else to_id(found)

    @strawberry.field(
        description="Pinned messages, newest first; null with FORBIDDEN without "
        "READ_MESSAGE_HISTORY."
    )
    async def pins(self, info: Info) -> list[Message] | None:
        found = await info.context.services.pins.list_pins(
            await info.context.viewer(), self.record.id
        )
        return [Message(record=m) for m in found]

    @strawberry.field(
        description="Messages after your read marker (counted up to 1000); 0 when you cannot "
        "read the history."
    )
    async def unread_count(self, info: Info) -> int:
        return await info.context.services.read_states.unread_count(
            await info.context.viewer(), self.record.id
        )

    @strawberry.field(
        description="Unread messages mentioning you, your roles or @everyone (up to 1000); 0 "
        "when you cannot read the history."
    )
    async def mention_count(self, info: Info) -> int:
        return await info.context.services.read_states.mention_count(
            await info.context.viewer(), self.record.id
        )


@strawberry.type(description="A voice channel: members talk there through an SFU.")
class VoiceChannel(Channel):
    @strawberry.field(description="Where the voice server runs; null: chosen automatically.")
    def voice_region(self) -> str | None:
        return self.record.voice_region

    @strawberry.field(description="Most members in voice here at once; 0: no limit.")
    def user_limit(self) -> int:
        return self.record.user_limit

    @strawberry.field(description="The members in voice here, by user id.")
    async def voice_states(
        self, info: Info
    ) -> list[Annotated[VoiceState, strawberry.lazy("gochat.schema.voice")]]:
        states = await info.context.services.voice.list_channel(
            await info.context.viewer(), self.record.id
        )
        return [_voice_state(s) for s in states]


@strawberry.type(description="A category: it groups the channels whose parentId is its id.")
class CategoryChannel(Channel):
    pass


# Reached only through the interface: the schema is told about them (`types=`).
CHANNEL_KINDS = (TextChannel, VoiceChannel, CategoryChannel)


def channel_shape(record: records.Channel) -> Channel:
    """The GraphQL object of a guild channel's kind."""
    if record.type == records.ChannelType.VOICE:
        return VoiceChannel(record=record)
    if record.type == records.ChannelType.CATEGORY:
        return CategoryChannel(record=record)
    return TextChannel(record=record)


@strawberry.type(description="A user's membership in a guild.")
class Member(Node):
    record: strawberry.Private[records.Member]

    @strawberry.field(
        description="This membership's own id, `<guildId>:<userId>`: a user has one Member per "
        "guild. Treat it as opaque; use guildId and userId to read its parts."
    )
    def id(self) -> strawberry.ID:
        return member_id(self.record.guild_id, self.record.user_id)

    @strawberry.field(description="The guild of this membership.")
    def guild_id(self) -> strawberry.ID:
        return to_id(self.record.guild_id)

    @strawberry.field(description="The member's public profile; null only if the account is gone.")
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.record.user_id)

    @strawberry.field(description="The member's user id.")
    def user_id(self) -> strawberry.ID:
        return to_id(self.record.user_id)

    @strawberry.field(description="Guild-specific name, 1-32 characters.")
    def nickname(self) -> str | None:
        return self.record.nickname

    @strawberry.field(description="When the user joined the guild (most recently).")
    def joined_at(self) -> datetime:
        return self.record.joined_at

    @strawberry.field(description="While in the future, the member cannot send, react or talk.")
    def timeout_until(self) -> datetime | None:
        return self.record.timeout_until

    @strawberry.field(description="Server-muted in voice (VOICE_MUTE_MEMBERS set it).")
    def server_mute(self) -> bool:
        return self.record.voice_mute

    @strawberry.field(description="Server-deafened in voice (VOICE_DEAFEN_MEMBERS set it).")
    def server_deaf(self) -> bool:
        return self.record.voice_deaf

    @strawberry.field(description="Roles besides @everyone, most senior first.")
    async def roles(self, info: Info) -> list[Role]:
        viewer = await info.context.viewer()
        view = await info.context.services.guilds.access(viewer, self.record.guild_id)
        found = [view.data.roles[r] for r in self.record.role_ids if r in view.data.roles]
        return [Role(record=r) for r in sorted(found, key=lambda r: (-r.position, r.id))]

    @strawberry.field(description="This member's permissions in a channel of the guild.")
    async def permissions_in(
        self,
        info: Info,
        channel_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A channel of this guild; NOT_FOUND if there is none you can see.",
                name="channelId",
            ),
        ],
    ) -> Permissions:
        viewer = await info.context.viewer()
        view = await info.context.services.guilds.access(viewer, self.record.guild_id)
        channel = view.channel(snowflake(channel_id, field="channelId"))
        return Permissions.from_mask(view.permissions_in(channel, self.record))


@strawberry.type(description="One member in a page of members.")
class MemberEdge:
    node: Member = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(description="A page of members ordered by user id.")
class MemberConnection:
    edges: list[MemberEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)


@strawberry.type(description="A ban: the user cannot rejoin until unbanned.")
class Ban:
    record: strawberry.Private[records.Ban]

    @strawberry.field(
        description="The banned user's public profile; null only if the account is gone."
    )
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.record.user_id)

    @strawberry.field(description="The banned user's id.")
    def user_id(self) -> strawberry.ID:
        return to_id(self.record.user_id)

    @strawberry.field(
        description="The moderator's reason, at most 512 characters; null when none was given."
    )
    def reason(self) -> str | None:
        return self.record.reason

    @strawberry.field(description="Who banned the user; null only if that account is gone.")
    async def moderator(self, info: Info) -> User | None:
        return await load_user(info, self.record.moderator_id)

    @strawberry.field(description="When the ban was made.")
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="A custom emoji of a guild (metadata; images come later).")
class Emoji(Node):
    record: strawberry.Private[records.Emoji]

    @strawberry.field(description="Snowflake id of the emoji.")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="2-32 letters, digits or '_', unique in the guild.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="True for an animated emoji.")
    def animated(self) -> bool:
        return self.record.animated

    @strawberry.field(
        description="The image as WebP at 96 px (or 44 px for a size of 48 or less; animated "
        "emoji stay animated), the upload until the previews are made; public by id. Null for "
        "an emoji without an image."
    )
    def url(self, info: Info, size: SizeArgument = 96) -> str | None:
        return public_file_url(info, self.record.image_id, size=emoji_size(size))

    @strawberry.field(description="Who added the emoji; null only if that account is gone.")
    async def creator(self, info: Info) -> User | None:
        return await load_user(info, self.record.creator_id)

    @strawberry.field(description="When the emoji was added.")
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="A guild (server). Only members can read it.")
class Guild(Node):
    record: strawberry.Private[records.Guild]

    @strawberry.field(description="Snowflake id of the guild; the @everyone role has the same id.")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="2-100 characters.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="The owner's user id: the owner has every permission.")
    def owner_id(self) -> strawberry.ID:
        return to_id(self.record.owner_id)

    @strawberry.field(description="The owner's public profile; null only if that account is gone.")
    async def owner(self, info: Info) -> User | None:
        return await load_user(info, self.record.owner_id)

    @strawberry.field(description="The guild's icon (128 px WebP once made); null without one.")
    def icon_url(self, info: Info) -> str | None:
        return public_file_url(info, self.record.icon_id)

    @strawberry.field(description="The guild's banner image; null without one.")
    def banner_url(self, info: Info) -> str | None:
        return public_file_url(info, self.record.banner_id)

    @strawberry.field(description="Where member-joined system messages go.")
    def system_channel_id(self) -> strawberry.ID | None:
        sid = self.record.system_channel_id
        return None if sid is None else to_id(sid)

    @strawberry.field(description="When the guild was created.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(description="How many members the guild has.")
    async def member_count(self, info: Info) -> int:
        return await info.context.services.guilds.member_count(self.record.id)

    @strawberry.field(description="The channels the signed-in user can see, by position.")
    async def channels(self, info: Info) -> list[Channel]:
        view = await info.context.services.guilds.access(
            await info.context.viewer(), self.record.id
        )
        return [channel_shape(c) for c in view.visible_channels()]

    @strawberry.field(description="Members in voice in the channels you can see, by user id.")
    async def voice_states(
        self, info: Info
    ) -> list[Annotated[VoiceState, strawberry.lazy("gochat.schema.voice")]]:
        states = await info.context.services.voice.list_guild(
            await info.context.viewer(), self.record.id
        )
        return [_voice_state(s) for s in states]

    @strawberry.field(description="Every role, most senior first.")
    async def roles(self, info: Info) -> list[Role]:
        view = await info.context.services.guilds.access(
            await info.context.viewer(), self.record.id
        )
        ordered = sorted(view.data.roles.values(), key=lambda r: (-r.position, r.id))
        return [Role(record=r) for r in ordered]

    @strawberry.field(description="The signed-in user's guild-wide permissions.")
    async def my_permissions(self, info: Info) -> Permissions:
        view = await info.context.services.guilds.access(
            await info.context.viewer(), self.record.id
        )
        return Permissions.from_mask(view.permissions())

    @strawberry.field(description="The signed-in user's membership.")
    async def me(self, info: Info) -> Member:
        view = await info.context.services.guilds.access(
            await info.context.viewer(), self.record.id
        )
        return Member(record=view.member)

    @strawberry.field(description="One member by user id; NOT_FOUND if not a member.")
    async def member(
        self,
        info: Info,
        user_id: Annotated[
            strawberry.ID, strawberry.argument(description="The user's id.", name="userId")
        ],
    ) -> Member:
        found = await info.context.services.members.get(
            await info.context.viewer(), self.record.id, snowflake(user_id, field="userId")
        )
        return Member(record=found)

    @strawberry.field(description="Members ordered by user id, optionally by name prefix.")
    async def members(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="1-100, default 50.")] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from this list: the page starts just after that member."
            ),
        ] = None,
        search: Annotated[
            str | None, strawberry.argument(description="Prefix of handle, name or nickname.")
        ] = None,
    ) -> MemberConnection:
        args = page_args("member", first=first, after=after)
        size = args.size
        rows = await info.context.services.members.list_members(
            await info.context.viewer(),
            self.record.id,
            after_user_id=args.after,
            prefix=search,
            limit=size + 1,
        )
        page = rows[:size]
        edges = [
            MemberEdge(node=Member(record=m), cursor=encode_cursor("member", m.user_id))
            for m in page
        ]
        return MemberConnection(
            edges=edges,
            page_info=page_info(edges, has_next=len(rows) > size, has_previous=after is not None),
        )

    @strawberry.field(description="Bans; null with FORBIDDEN without BAN_MEMBERS.")
    async def bans(self, info: Info) -> list[Ban] | None:
        found = await info.context.services.moderation.list_bans(
            await info.context.viewer(), self.record.id
        )
        return [Ban(record=b) for b in found]

    @strawberry.field(description="Usable invites; null with FORBIDDEN without MANAGE_SERVER.")
    async def invites(self, info: Info) -> list[Invite] | None:
        found = await info.context.services.invites.list_for_guild(
            await info.context.viewer(), self.record.id
        )
        return [Invite(record=i) for i in found]

    @strawberry.field(description="Custom emoji.")
    async def emoji(self, info: Info) -> list[Emoji]:
        found = await info.context.services.emoji.list_emoji(
            await info.context.viewer(), self.record.id
        )
        return [Emoji(record=e) for e in found]

    @strawberry.field(
        description="Administrative changes, newest first; null with FORBIDDEN without "
        "VIEW_AUDIT_LOG."
    )
    async def audit_log(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="1-100, default 50.")] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from this list: the page holds entries older than that one."
            ),
        ] = None,
        action: Annotated[
            AuditAction | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only entries of this kind."),
        ] = None,
        actor_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only changes made by this user.", name="actorId"),
        ] = None,
    ) -> AuditLogConnection | None:
        args = page_args("audit", first=first, after=after)
        size = args.size
        rows = await info.context.services.audit.list_entries(
            await info.context.viewer(),
            self.record.id,
            action=None if action is None else action.value,
            actor_id=None if actor_id is None else snowflake(actor_id, field="actorId"),
            before_id=args.after,
            limit=size + 1,
        )
        page = rows[:size]
        edges = [
            AuditLogEdge(node=AuditLogEntry(record=e), cursor=encode_cursor("audit", e.id))
            for e in page
        ]
        return AuditLogConnection(
            edges=edges,
            page_info=page_info(edges, has_next=len(rows) > size, has_previous=after is not None),
        )


def _voice_state(record: records.VoiceState) -> VoiceState:
    from gochat.schema.voice import VoiceState  # noqa: PLC0415 (the two modules refer to each other)

    return VoiceState.from_record(record)
