"""GraphQL types for guilds, channels, roles, members, overwrites, bans, invites, emoji and
the audit log. Fields that need the viewer resolve through domain services, which authorize."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from gochat.domain import permissions as perms
from gochat.domain import records
from gochat.domain.audit import ACTIONS
from gochat.ids import Snowflake
from gochat.schema.accounts import User, load_user
from gochat.schema.attachments import public_file_url
from gochat.schema.common import (
    PageInfo,
    Permissions,
    encode_cursor,
    page_info,
    snowflake,
    to_id,
)
from gochat.schema.context import Info
from gochat.schema.messages import (
    Message,
    MessageConnection,
    SizeArgument,
    emoji_size,
    history_connection,
)
from gochat.schema.pagination import page_args


@strawberry.enum(description="Channel kinds, with GoChat's numbers.")
class ChannelType(enum.Enum):
    TEXT = 0
    VOICE = 1
    CATEGORY = 2
    DM = 3
    GROUP_DM = 4
    THREAD = 5


@strawberry.enum(description="What a permission overwrite applies to.")
class OverwriteTarget(enum.Enum):
    ROLE = perms.ROLE
    MEMBER = perms.MEMBER


AuditAction = strawberry.enum(
    cast(type[enum.Enum], enum.Enum("AuditAction", {a: a for a in ACTIONS})),
    description="Kinds of audit log entries.",
)


@strawberry.type(description="A role in a guild. @everyone has the guild's id and position 0.")
class Role:
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

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="An allow/deny pair on one channel for a role or a member.")
class PermissionOverwrite:
    record: strawberry.Private[perms.Overwrite]

    @strawberry.field
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field
    def target_type(self) -> OverwriteTarget:
        return OverwriteTarget(self.record.target_type)

    @strawberry.field(description="Role id or user id.")
    def target_id(self) -> strawberry.ID:
        return to_id(self.record.target_id)

    @strawberry.field
    def allow(self) -> Permissions:
        return Permissions.from_mask(self.record.allow)

    @strawberry.field
    def deny(self) -> Permissions:
        return Permissions.from_mask(self.record.deny)


@strawberry.interface(
    description="A guild channel. Fields every kind has are here; select the rest with "
    "`... on TextChannel` (history, unread counts, pins), `... on VoiceChannel` or "
    "`... on CategoryChannel`. `type` tells the kind too."
)
class Channel:
    record: strawberry.Private[records.Channel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field
    def guild_id(self) -> strawberry.ID:
        return to_id(self.record.guild_id)

    @strawberry.field
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

    @strawberry.field
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
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        around: strawberry.ID | None = None,
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
class Member:
    record: strawberry.Private[records.Member]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.record.user_id)

    @strawberry.field
    def user_id(self) -> strawberry.ID:
        return to_id(self.record.user_id)

    @strawberry.field(description="Guild-specific name, 1-32 characters.")
    def nickname(self) -> str | None:
        return self.record.nickname

    @strawberry.field
    def joined_at(self) -> datetime:
        return self.record.joined_at

    @strawberry.field(description="While in the future, the member cannot send, react or talk.")
    def timeout_until(self) -> datetime | None:
        return self.record.timeout_until

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
        channel_id: Annotated[strawberry.ID, strawberry.argument(name="channelId")],
    ) -> Permissions:
        viewer = await info.context.viewer()
        view = await info.context.services.guilds.access(viewer, self.record.guild_id)
        channel = view.channel(snowflake(channel_id, field="channelId"))
        return Permissions.from_mask(view.permissions_in(channel, self.record))


@strawberry.type
class MemberEdge:
    node: Member
    cursor: str


@strawberry.type(description="A page of members ordered by user id.")
class MemberConnection:
    edges: list[MemberEdge]
    page_info: PageInfo


@strawberry.type(description="A ban: the user cannot rejoin until unbanned.")
class Ban:
    record: strawberry.Private[records.Ban]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.record.user_id)

    @strawberry.field
    def user_id(self) -> strawberry.ID:
        return to_id(self.record.user_id)

    @strawberry.field
    def reason(self) -> str | None:
        return self.record.reason

    @strawberry.field
    async def moderator(self, info: Info) -> User | None:
        return await load_user(info, self.record.moderator_id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="An invite link to a guild channel.")
class Invite:
    record: strawberry.Private[records.Invite]

    @strawberry.field
    def code(self) -> str:
        return self.record.code

    @strawberry.field
    def guild_id(self) -> strawberry.ID:
        return to_id(self.record.guild_id)

    @strawberry.field
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field
    async def inviter(self, info: Info) -> User | None:
        return await load_user(info, self.record.inviter_id)

    @strawberry.field(description="0 means unlimited.")
    def max_uses(self) -> int:
        return self.record.max_uses

    @strawberry.field
    def uses(self) -> int:
        return self.record.uses

    @strawberry.field(description="Null: never expires.")
    def expires_at(self) -> datetime | None:
        return self.record.expires_at

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    def revoked(self) -> bool:
        return self.record.revoked_at is not None


@strawberry.type(description="What an invite shows before joining; needs no sign-in.")
class InvitePreview:
    code: str
    guild_id: strawberry.ID
    guild_name: str
    member_count: int
    inviter: User | None
    expires_at: datetime | None


@strawberry.type(description="A custom emoji of a guild (metadata; images come later).")
class Emoji:
    record: strawberry.Private[records.Emoji]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="2-32 letters, digits or '_', unique in the guild.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def animated(self) -> bool:
        return self.record.animated

    @strawberry.field(
        description="The image as WebP at 96 px (or 44 px for a size of 48 or less; animated "
        "emoji stay animated), the upload until the previews are made; public by id. Null for "
        "an emoji without an image."
    )
    def url(self, info: Info, size: SizeArgument = 96) -> str | None:
        return public_file_url(info, self.record.image_id, size=emoji_size(size))

    @strawberry.field
    async def creator(self, info: Info) -> User | None:
        return await load_user(info, self.record.creator_id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="One administrative or moderation change.")
class AuditLogEntry:
    record: strawberry.Private[records.AuditEntry]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self.record.actor_id)

    @strawberry.field
    def actor_id(self) -> strawberry.ID:
        return to_id(self.record.actor_id)

    @strawberry.field
    def action(self) -> AuditAction:  # type: ignore[valid-type]
        return AuditAction[self.record.action]

    @strawberry.field(description="guild, channel, role, user, invite or emoji.")
    def target_type(self) -> str:
        return self.record.target_type

    @strawberry.field
    def target_id(self) -> strawberry.ID | None:
        return None if self.record.target_id is None else to_id(self.record.target_id)

    @strawberry.field(description="Changed fields: {field: [before, after]} or details.")
    def changes(self) -> JSON:
        return cast(JSON, self.record.changes)

    @strawberry.field
    def reason(self) -> str | None:
        return self.record.reason

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type
class AuditLogEdge:
    node: AuditLogEntry
    cursor: str


@strawberry.type(description="Audit entries, newest first.")
class AuditLogConnection:
    edges: list[AuditLogEdge]
    page_info: PageInfo


@strawberry.type(description="A guild (server). Only members can read it.")
class Guild:
    record: strawberry.Private[records.Guild]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="2-100 characters.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def owner_id(self) -> strawberry.ID:
        return to_id(self.record.owner_id)

    @strawberry.field
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

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    async def member_count(self, info: Info) -> int:
        return await info.context.services.guilds.member_count(self.record.id)

    @strawberry.field(description="The channels the signed-in user can see, by position.")
    async def channels(self, info: Info) -> list[Channel]:
        view = await info.context.services.guilds.access(
            await info.context.viewer(), self.record.id
        )
        return [channel_shape(c) for c in view.visible_channels()]

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
        self, info: Info, user_id: Annotated[strawberry.ID, strawberry.argument(name="userId")]
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
        after: str | None = None,
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
        after: str | None = None,
        action: AuditAction | None = None,  # type: ignore[valid-type]
        actor_id: Annotated[strawberry.ID | None, strawberry.argument(name="actorId")] = None,
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
