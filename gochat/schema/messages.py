"""GraphQL types for messages and message history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gochat.domain import records
from gochat.domain.embeds import visible
from gochat.domain.emoji import emoji_ids_in
from gochat.domain.reactions import EmojiRef
from gochat.errors import BadUserInput
from gochat.ids import Snowflake, created_at
from gochat.schema.accounts import User
from gochat.schema.attachments import Attachment, public_file_url
from gochat.schema.common import (
    AFTER,
    EDGE_CURSOR,
    EDGE_NODE,
    EDGES,
    FIRST,
    PAGE_INFO,
    Node,
    PageInfo,
    encode_cursor,
    page_info,
    snowflake,
    to_id,
)
from gochat.schema.context import Info
from gochat.schema.embeds import Embed, EmbedInput, MessageFlag, message_flags
from gochat.schema.pagination import page_args

if TYPE_CHECKING:
    from gochat.schema.channels import ThreadChannel


@strawberry.enum(description="GoChat's message types.")
class MessageType(enum.Enum):
    _value_: int
    DEFAULT = strawberry.enum_value(0, description="A message a user wrote.")
    REPLY = strawberry.enum_value(1, description="A user's reply; referenceId names the message.")
    MEMBER_JOINED = strawberry.enum_value(
        2, description="System message in the system channel: authorId joined the guild."
    )
    MESSAGE_PINNED = strawberry.enum_value(
        3, description="System message: authorId pinned the message named by referenceId."
    )
    THREAD_CREATED = strawberry.enum_value(
        4,
        description="System message in a thread's parent: authorId started the thread named "
        "by referenceId; content is its name at creation.",
    )
    THREAD_STARTER = strawberry.enum_value(
        5,
        description="System message opening a thread started from a message: referenceId "
        "names that message, in the parent channel.",
    )


# The arguments of a channel's history, the same for guild channels and DMs.
HistoryFirst = Annotated[
    int | None,
    strawberry.argument(
        description="Read forward: 1-100 messages from the oldest, or from just after `after`."
    ),
]
HistoryAfter = Annotated[
    str | None,
    strawberry.argument(description="A cursor of this history: the page holds newer messages."),
]
HistoryLast = Annotated[
    int | None,
    strawberry.argument(
        description="Read backward: 1-100 messages up to the newest, or to just before `before`."
    ),
]
HistoryBefore = Annotated[
    str | None,
    strawberry.argument(description="A cursor of this history: the page holds older messages."),
]
HistoryAround = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="A message id: the page is centered on it (and holds it when it exists)."
    ),
]


@strawberry.type(description="Who a message mentions.")
class MessageMentions:
    user_ids: list[strawberry.ID] = strawberry.field(
        description="Users mentioned with <@id> (in DMs only the participants)."
    )
    role_ids: list[strawberry.ID] = strawberry.field(
        description="Roles of the guild mentioned with <@&id> (needs MENTION_ROLES)."
    )
    everyone: bool = strawberry.field(description="@everyone or @here (needs MENTION_ROLES).")


def emoji_size(size: int) -> int:
    if not 16 <= size <= 512:
        raise BadUserInput("size is 16 to 512", field="size")
    return 44 if size <= 48 else 96


SizeArgument = Annotated[int, strawberry.argument(description="Wanted size in pixels, 16-512.")]


@strawberry.type(description="A custom emoji written in a message's content as <:name:id>.")
class CustomEmoji:
    record: strawberry.Private[records.Emoji]

    @strawberry.field(description="The emoji's id.")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="Its current name (the content keeps the name it was sent with).")
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="Whether its image is animated.")
    def animated(self) -> bool:
        return self.record.animated

    @strawberry.field(description="Its image (WebP at 96 or 44 px); null without an image.")
    def url(self, info: Info, size: SizeArgument = 96) -> str | None:
        return public_file_url(info, self.record.image_id, size=emoji_size(size))


@strawberry.type(description="An emoji: unicode, or a custom emoji of the guild.")
class ReactionEmoji:
    unicode: str | None = strawberry.field(
        description="The unicode emoji; null for a custom emoji."
    )
    custom_emoji_id: strawberry.ID | None = strawberry.field(
        description="The guild's custom emoji; null for a unicode emoji."
    )

    @strawberry.field(
        description="For a custom emoji: its image (WebP at 96 or 44 px); null for unicode, "
        "and for a custom emoji without an image or deleted since."
    )
    async def url(self, info: Info, size: SizeArgument = 96) -> str | None:
        if self.custom_emoji_id is None:
            return None
        found = await info.context.loaders.emoji_by_id.load(Snowflake(int(self.custom_emoji_id)))
        if found is None:
            return None
        return public_file_url(info, found.image_id, size=emoji_size(size))

    @classmethod
    def from_key(cls, key: str) -> ReactionEmoji:
        kind, _, value = key.partition(":")
        if kind == "u":
            return cls(unicode=value, custom_emoji_id=None)
        return cls(unicode=None, custom_emoji_id=strawberry.ID(value))


@strawberry.input(description="Exactly one of unicode or customEmojiId.")
class EmojiInput:
    unicode: str | None = strawberry.field(default=None, description="A unicode emoji.")
    custom_emoji_id: strawberry.ID | None = strawberry.field(
        default=None, description="A custom emoji of the message's guild."
    )


@strawberry.type(description="One emoji's reactions on a message.")
class ReactionGroup:
    emoji: ReactionEmoji = strawberry.field(description="The emoji.")
    count: int = strawberry.field(description="How many users reacted with it.")
    me: bool = strawberry.field(description="True when you reacted with it.")


@strawberry.type(description="One user in a page of users.")
class UserEdge:
    node: User = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(description="Users, ordered by id.")
class UserConnection:
    edges: list[UserEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)


@strawberry.type(description="A read marker: everything up to lastReadMessageId is read.")
class ReadState:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    last_read_message_id: strawberry.ID = strawberry.field(
        description="The newest message you have read there."
    )


@strawberry.type(description="A message in a channel.")
class Message(Node):
    record: strawberry.Private[records.Message]

    @strawberry.field(description="Snowflake id; ids grow with time, so they order the history.")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="The channel (guild channel or DM) holding the message.")
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field(description="The channel's guild; null in DMs.")
    def guild_id(self) -> strawberry.ID | None:
        return None if self.record.guild_id is None else to_id(self.record.guild_id)

    @strawberry.field(description="Who sent it (for system messages: whom it is about).")
    def author_id(self) -> strawberry.ID:
        return to_id(self.record.author_id)

    @strawberry.field(description="The author's public profile; null only if that account is gone.")
    async def author(self, info: Info) -> User | None:
        found = await info.context.loaders.user_by_id.load(Snowflake(self.record.author_id))
        return None if found is None else User.from_record(found)

    @strawberry.field(description="A user's message or reply, or a system message.")
    def type(self) -> MessageType:
        return MessageType(int(self.record.type))

    @strawberry.field(description="At most 4000 characters.")
    def content(self) -> str:
        return self.record.content

    @strawberry.field(description="For replies: the message replied to.")
    def reference_id(self) -> strawberry.ID | None:
        return None if self.record.reference_id is None else to_id(self.record.reference_id)

    @strawberry.field(description="Who the message mentions, as parsed when it was sent or edited.")
    def mentions(self) -> MessageMentions:
        m = self.record.mentions
        return MessageMentions(
            user_ids=[to_id(i) for i in m.user_ids],
            role_ids=[to_id(i) for i in m.role_ids],
            everyone=m.everyone,
        )

    @strawberry.field(description="True while the message is pinned in its channel.")
    def pinned(self) -> bool:
        return self.record.pinned

    @strawberry.field(
        description="The thread started from this message, or the one a THREAD_CREATED notice "
        "announces; null otherwise."
    )
    async def thread(
        self, info: Info
    ) -> Annotated[ThreadChannel, strawberry.lazy("gochat.schema.channels")] | None:
        from gochat.schema.channels import ThreadChannel as Type  # noqa: PLC0415 - import cycle

        found = await info.context.services.threads.thread_of_message(
            await info.context.viewer(), self.record
        )
        return None if found is None else Type(record=found)

    @strawberry.field(description="When the content last changed; null if never edited.")
    def edited_at(self) -> datetime | None:
        return self.record.edited_at

    @strawberry.field(
        description="The custom emoji written in the content (<:name:id>), in order, each once, "
        "at most 50; emoji that no longer exist are left out."
    )
    async def custom_emoji(self, info: Info) -> list[CustomEmoji]:
        ids = emoji_ids_in(self.record.content)
        found = await info.context.loaders.emoji_by_id.load_many(ids)
        return [CustomEmoji(record=e) for e in found if e is not None]

    @strawberry.field(description="Files attached to the message, in the order sent.")
    async def attachments(self, info: Info) -> list[Attachment]:
        found = await info.context.loaders.attachments_by_message.load(self.record.id)
        return [Attachment(record=u) for u in found]

    @strawberry.field(
        description="Embeds sent by the author, then those made from links in the content "
        "(unless SUPPRESS_EMBEDS); at most 10."
    )
    def embeds(self) -> list[Embed]:
        return [Embed(record=e) for e in visible(self.record)]

    @strawberry.field(description="The message's flags.")
    def flags(self) -> list[MessageFlag]:
        return message_flags(self.record.flags)

    @strawberry.field(description="From the snowflake id.")
    def created_at(self) -> datetime:
        return created_at(self.record.id)

    @strawberry.field(description="Reactions grouped by emoji, in order of first use.")
    async def reactions(self, info: Info) -> list[ReactionGroup]:
        key = (Snowflake(self.record.channel_id), Snowflake(self.record.id))
        counts = await info.context.loaders.reactions_by_message.load(key)
        return [
            ReactionGroup(emoji=ReactionEmoji.from_key(c.emoji), count=c.count, me=c.me)
            for c in counts
        ]

    @strawberry.field(description="Who reacted with one emoji, by user id (pages of up to 100).")
    async def reactors(
        self,
        info: Info,
        emoji: Annotated[EmojiInput, strawberry.argument(description="The emoji.")],
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> UserConnection:
        args = page_args("user", first=first, after=after)
        size = args.size
        ids = await info.context.services.reactions.reactors(
            await info.context.viewer(),
            Snowflake(self.record.id),
            to_emoji_ref(emoji),
            after=args.after,
            limit=size + 1,
        )
        users = await info.context.services.accounts.get_users(ids[:size])
        edges = [
            UserEdge(node=User.from_record(users[i]), cursor=encode_cursor("user", i))
            for i in ids[:size]
            if i in users
        ]
        return UserConnection(
            edges=edges,
            page_info=page_info(edges, has_next=len(ids) > size, has_previous=after is not None),
        )


@strawberry.type(description="One message in a page of messages.")
class MessageEdge:
    node: Message = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(description="A page of history, oldest first.")
class MessageConnection:
    edges: list[MessageEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(
        description="hasPreviousPage: older messages exist; hasNextPage: newer ones exist."
    )


@strawberry.input(description="Send a message to a text channel (SEND_MESSAGES).")
class SendMessageInput:
    channel_id: strawberry.ID = strawberry.field(description="A text channel or a DM you are in.")
    content: str = strawberry.field(
        default="",
        description="At most 4000 characters after trimming; empty only with attachments "
        "or embeds.",
    )
    nonce: str | None = strawberry.field(
        default=None,
        description="1-64 characters chosen by the client: a retry with the same nonce within "
        "10 minutes returns the first message instead of sending another.",
    )
    reply_to: strawberry.ID | None = strawberry.field(
        default=None, description="A message of the same channel to reply to."
    )
    attachments: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Up to 10 ATTACHMENT upload ids of yours for this channel, each filled and "
        "unused (ATTACH_FILES); each is checked and becomes an attachment of this message.",
    )
    embeds: list[EmbedInput] | None = strawberry.field(
        default=None,
        description="Up to 10 embeds (type RICH) with 6,000 characters of text in all; links "
        "in the content get generated embeds besides.",
    )


@strawberry.type(description="The sent message.")
class SendMessagePayload:
    message: Message = strawberry.field(
        description="The message (the first one, for a retried nonce)."
    )
    created: bool = strawberry.field(description="False when a retried nonce returned the first.")


@strawberry.input(
    description="Change a message: content and embeds of your own, or whether its generated "
    "embeds show (yours, or any with MANAGE_MESSAGES). Give at least one field."
)
class EditMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message.")
    content: str | None = strawberry.field(
        default=None,
        description="The new content: at most 4000 characters after trimming, empty only when "
        "the message keeps embeds; its generated embeds are made again.",
    )
    embeds: list[EmbedInput] | None = strawberry.field(
        default=None, description="Replaces the embeds you sent ([] removes them)."
    )
    suppress_embeds: bool | None = strawberry.field(
        default=None, description="Hide (true) or show (false) the generated embeds."
    )


@strawberry.type(description="The edited message.")
class EditMessagePayload:
    message: Message = strawberry.field(
        description="The message as it is now (editedAt moves when content or embeds change)."
    )


@strawberry.input(description="Delete a message: your own, or any with MANAGE_MESSAGES.")
class DeleteMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message to delete.")


@strawberry.type(description="The deleted message's ids.")
class DeleteMessagePayload:
    message_id: strawberry.ID = strawberry.field(description="The deleted message.")
    channel_id: strawberry.ID = strawberry.field(description="Its channel.")


@strawberry.input(description="Delete up to 100 messages of one channel (MANAGE_MESSAGES).")
class BulkDeleteMessagesInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    message_ids: list[strawberry.ID] = strawberry.field(
        description=("1-100 message ids of that channel.")
    )


@strawberry.type(description="What was deleted.")
class BulkDeleteMessagesPayload:
    deleted_message_ids: list[strawberry.ID] = strawberry.field(
        description="The messages that were deleted."
    )


def to_emoji_ref(emoji: EmojiInput) -> EmojiRef:
    return EmojiRef(
        unicode=emoji.unicode,
        custom_id=None
        if emoji.custom_emoji_id is None
        else snowflake(emoji.custom_emoji_id, field="emoji"),
    )


@strawberry.input(description="React to a message (ADD_REACTIONS).")
class AddReactionInput:
    message_id: strawberry.ID = strawberry.field(description="The message.")
    emoji: EmojiInput = strawberry.field(description="The emoji to react with.")


@strawberry.type(description="The message after the reaction.")
class AddReactionPayload:
    message: Message = strawberry.field(
        description="The message, with its reactions as they are now."
    )


@strawberry.input(description="Remove your reaction, or another user's with MANAGE_MESSAGES.")
class RemoveReactionInput:
    message_id: strawberry.ID = strawberry.field(description="The message.")
    emoji: EmojiInput = strawberry.field(description="The emoji to remove.")
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Default: you.")


@strawberry.type(description="The message after the removal.")
class RemoveReactionPayload:
    message: Message = strawberry.field(
        description="The message, with its reactions as they are now."
    )


@strawberry.input(description="Pin a message (MANAGE_MESSAGES); at most 50 per channel.")
class PinMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message to pin.")


@strawberry.type(description="The pinned message.")
class PinMessagePayload:
    message: Message = strawberry.field(description="The message, now pinned.")


@strawberry.input(description="Unpin a message (MANAGE_MESSAGES).")
class UnpinMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message to unpin.")


@strawberry.type(description="The unpinned message.")
class UnpinMessagePayload:
    message: Message = strawberry.field(description="The message, no longer pinned.")


@strawberry.input(description="Mark a channel read up to a message; the marker never moves back.")
class AckMessageInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel (guild channel or DM).")
    message_id: strawberry.ID = strawberry.field(
        description=(
            "The newest message you have read; an older one leaves the marker where it is."
        )
    )


@strawberry.type(description="Your read marker.")
class AckMessagePayload:
    read_state: ReadState = strawberry.field(description="The marker as it is now.")


async def history_connection(
    info: Info,
    channel_id: int,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    around: strawberry.ID | None,
) -> MessageConnection:
    """A page of a channel's history as a connection (guild channels and DMs alike)."""
    args = page_args(
        "message", first=first, after=after, last=last, before=before, from_end_by_default=True
    )
    page = await info.context.services.messages.history(
        await info.context.viewer(),
        Snowflake(channel_id),
        limit=args.size,
        before=args.before,
        after=args.after,
        around=None if around is None else snowflake(around, field="around"),
        from_end=args.from_end,
    )
    edges = [
        MessageEdge(node=Message(record=m), cursor=encode_cursor("message", m.id))
        for m in page.messages
    ]
    return MessageConnection(
        edges=edges,
        page_info=page_info(edges, has_next=page.has_newer, has_previous=page.has_older),
    )
