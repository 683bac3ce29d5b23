"""GraphQL types for guild channels: text, voice, categories and threads, and their
permission overwrites."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gochat.domain import permissions as perms
from gochat.domain import records
from gochat.errors import NotFound
from gochat.ids import Snowflake
from gochat.schema.accounts import User, load_user
from gochat.schema.common import (
    EDGE_CURSOR,
    EDGE_NODE,
    EDGES,
    PAGE_INFO,
    Node,
    PageInfo,
    Permissions,
    encode_cursor,
    page_info,
    to_id,
)
from gochat.schema.context import Info
from gochat.schema.invites import Invite
from gochat.schema.loaders import THREAD_COUNT_CAP
from gochat.schema.messages import (
    HistoryAfter,
    HistoryAround,
    HistoryBefore,
    HistoryFirst,
    HistoryLast,
    Message,
    MessageConnection,
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
    THREAD = strawberry.enum_value(5, description="A thread under a text channel (ThreadChannel).")


@strawberry.enum(description="What a permission overwrite applies to.")
class OverwriteTarget(enum.Enum):
    _value_: str
    ROLE = strawberry.enum_value(perms.ROLE, description="The overwrite applies to a role.")
    MEMBER = strawberry.enum_value(perms.MEMBER, description="The overwrite applies to one member.")


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
    "`... on TextBasedChannel` (history, unread counts, pins, in text channels and threads), "
    "`... on TextChannel`, `... on ThreadChannel`, `... on VoiceChannel` or "
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
        description="The channel's kind; the same as its GraphQL type (TEXT, VOICE, CATEGORY or "
        "THREAD)."
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

    @strawberry.field(
        description="The category holding this channel; for a thread, its text channel."
    )
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


@strawberry.interface(
    description="A guild channel that holds messages: a TextChannel or a ThreadChannel (a "
    "thread is a channel too). History, pins and unread counts work the same in both."
)
class TextBasedChannel(Channel):
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


@strawberry.type(description="A text channel: it holds messages, and threads.")
class TextChannel(TextBasedChannel):
    @strawberry.field(
        description="Slowmode: seconds a member waits between messages, 0-21600 (0: off). "
        "MANAGE_MESSAGES or MANAGE_CHANNELS lift it."
    )
    def rate_limit_per_user(self) -> int:
        return self.record.rate_limit_per_user

    @strawberry.field(description="Marked as for adults only.")
    def nsfw(self) -> bool:
        return self.record.nsfw

    @strawberry.field(
        description="The auto-archive delay (minutes: 60, 1440, 4320 or 10080) of threads "
        "started here without one."
    )
    def default_auto_archive_minutes(self) -> int:
        return self.record.default_auto_archive_minutes

    @strawberry.field(
        description="Threads of this channel, newest first; anyone who sees the channel sees "
        "them. `archived` picks archived (true) or open (false) threads; all when omitted."
    )
    async def threads(
        self,
        info: Info,
        archived: Annotated[
            bool | None, strawberry.argument(description="Archived or open threads only.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="1-100, default 50.")] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from this list: the page holds older threads."
            ),
        ] = None,
    ) -> ThreadConnection:
        args = page_args("thread", first=first, after=after)
        page = await info.context.services.threads.list_threads(
            await info.context.viewer(),
            self.record.id,
            archived=archived,
            before_id=args.after,
            limit=args.size,
        )
        edges = [
            ThreadEdge(node=ThreadChannel(record=t), cursor=encode_cursor("thread", t.id))
            for t in page.threads
        ]
        return ThreadConnection(
            edges=edges,
            page_info=page_info(edges, has_next=page.has_more, has_previous=after is not None),
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
        return [voice_state_shape(s) for s in states]


@strawberry.type(description="A category: it groups the channels whose parentId is its id.")
class CategoryChannel(Channel):
    pass


# Reached only through the interface: the schema is told about them (`types=`).
@strawberry.type(
    description="A thread: a channel under a text channel (`parent`), often started from one "
    "of its messages. It takes the parent's permissions; sending needs "
    "SEND_MESSAGES_IN_THREADS, and in a locked thread MANAGE_THREADS too."
)
class ThreadChannel(TextBasedChannel):
    @strawberry.field(description="The text channel the thread belongs to.")
    async def parent(self, info: Info) -> TextChannel | None:
        if self.record.parent_id is None:
            return None
        _, found = await info.context.services.channels.access(
            await info.context.viewer(), self.record.parent_id
        )
        return TextChannel(record=found)

    @strawberry.field(description="Who started the thread; null only if that account is gone.")
    async def owner(self, info: Info) -> User | None:
        if self.record.owner_id is None:
            return None
        return await load_user(info, self.record.owner_id)

    @strawberry.field(description="The id of the user who started the thread.")
    def owner_id(self) -> strawberry.ID | None:
        return None if self.record.owner_id is None else to_id(self.record.owner_id)

    @strawberry.field(
        description="The parent's message the thread was started from; null when it was "
        "started on its own or that message is gone."
    )
    async def starter_message(self, info: Info) -> Message | None:
        if self.record.origin_message_id is None:
            return None
        try:
            found, _ = await info.context.services.messages.access(
                await info.context.viewer(), self.record.origin_message_id
            )
        except NotFound:
            return None
        return Message(record=found)

    @strawberry.field(description="The id of the message the thread was started from.")
    def starter_message_id(self) -> strawberry.ID | None:
        origin = self.record.origin_message_id
        return None if origin is None else to_id(origin)

    @strawberry.field(
        description="Archived threads are read-only until a member who may send there sends "
        "(which reopens it) or a moderator or the creator unarchives it."
    )
    def archived(self) -> bool:
        return self.record.archived

    @strawberry.field(description="When the thread was archived; null while open.")
    def archived_at(self) -> datetime | None:
        return self.record.archived_at

    @strawberry.field(
        description="A locked thread takes MANAGE_THREADS to send in, unarchive or change."
    )
    def locked(self) -> bool:
        return self.record.locked

    @strawberry.field(
        description="Minutes without a message after which the thread is archived (60, 1440, "
        "4320 or 10080)."
    )
    def auto_archive_minutes(self) -> int:
        return self.record.auto_archive_minutes

    @strawberry.field(
        description=f"How many messages the thread holds (counted up to {THREAD_COUNT_CAP})."
    )
    async def message_count(self, info: Info) -> int:
        return await info.context.loaders.message_count_by_thread.load(self.record.id)

    @strawberry.field(description="Members who joined the thread, by user id.")
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
    ) -> ThreadMemberConnection:
        args = page_args("thread-member", first=first, after=after)
        rows = await info.context.services.threads.list_members(
            await info.context.viewer(),
            self.record.id,
            after_user_id=args.after,
            limit=args.size + 1,
        )
        page = rows[: args.size]
        edges = [
            ThreadMemberEdge(
                node=ThreadMember(record=m), cursor=encode_cursor("thread-member", m.user_id)
            )
            for m in page
        ]
        return ThreadMemberConnection(
            edges=edges,
            page_info=page_info(
                edges, has_next=len(rows) > args.size, has_previous=after is not None
            ),
        )


@strawberry.type(description="A member of a thread: someone who joined it (or started it).")
class ThreadMember:
    record: strawberry.Private[records.ThreadMember]

    @strawberry.field(description="The thread.")
    def thread_id(self) -> strawberry.ID:
        return to_id(self.record.thread_id)

    @strawberry.field(description="The member's user id.")
    def user_id(self) -> strawberry.ID:
        return to_id(self.record.user_id)

    @strawberry.field(description="The member's public profile; null only if the account is gone.")
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.record.user_id)

    @strawberry.field(description="When they joined the thread.")
    def joined_at(self) -> datetime:
        return self.record.joined_at


@strawberry.type(description="One member in a page of thread members.")
class ThreadMemberEdge:
    node: ThreadMember = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(description="A page of thread members ordered by user id.")
class ThreadMemberConnection:
    edges: list[ThreadMemberEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)


@strawberry.type(description="One thread in a page of threads.")
class ThreadEdge:
    node: ThreadChannel = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(description="A page of a channel's threads, newest first.")
class ThreadConnection:
    edges: list[ThreadEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)


CHANNEL_KINDS = (TextChannel, VoiceChannel, CategoryChannel, ThreadChannel)


def channel_shape(record: records.Channel) -> Channel:
    """The GraphQL object of a guild channel's kind."""
    if record.type == records.ChannelType.VOICE:
        return VoiceChannel(record=record)
    if record.type == records.ChannelType.CATEGORY:
        return CategoryChannel(record=record)
    if record.type == records.ChannelType.THREAD:
        return ThreadChannel(record=record)
    return TextChannel(record=record)


def voice_state_shape(record: records.VoiceState) -> VoiceState:
    """The GraphQL object of a voice state (the voice module refers back to channels)."""
    from gochat.schema.voice import VoiceState  # noqa: PLC0415

    return VoiceState.from_record(record)
