"""GraphQL types for guilds, roles, members, bans, invites, emoji and the audit log
(channels are in `schema.channels`). Fields that need the viewer resolve through domain
services, which authorize."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gochat.domain import records
from gochat.schema.accounts import User, load_user
from gochat.schema.attachments import public_file_url
from gochat.schema.audit_log import AuditAction, AuditLogConnection, AuditLogEdge, AuditLogEntry
from gochat.schema.channels import Channel, channel_shape, voice_state_shape
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
from gochat.schema.messages import SizeArgument, emoji_size
from gochat.schema.pagination import page_args

if TYPE_CHECKING:
    from gochat.schema.voice import VoiceState


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
        return [voice_state_shape(s) for s in states]

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
