"""GraphQL types for messages and message history."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.ids import Snowflake, created_at
from gochat.schema.accounts import User
from gochat.schema.common import PageInfo, to_id
from gochat.schema.context import Info


@strawberry.enum(description="GoChat's message types.")
class MessageType(enum.Enum):
    DEFAULT = 0
    REPLY = 1
    MEMBER_JOINED = 2
    MESSAGE_PINNED = 3


@strawberry.type(description="Who a message mentions.")
class MessageMentions:
    user_ids: list[strawberry.ID]
    role_ids: list[strawberry.ID]
    everyone: bool = strawberry.field(description="@everyone or @here (needs MENTION_ROLES).")


@strawberry.type(description="A message in a channel.")
class Message:
    record: strawberry.Private[records.Message]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field
    def guild_id(self) -> strawberry.ID | None:
        return None if self.record.guild_id is None else to_id(self.record.guild_id)

    @strawberry.field
    def author_id(self) -> strawberry.ID:
        return to_id(self.record.author_id)

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        found = await info.context.loaders.user_by_id.load(Snowflake(self.record.author_id))
        return None if found is None else User.from_record(found)

    @strawberry.field
    def type(self) -> MessageType:
        return MessageType(int(self.record.type))

    @strawberry.field(description="At most 4000 characters.")
    def content(self) -> str:
        return self.record.content

    @strawberry.field(description="For replies: the message replied to.")
    def reference_id(self) -> strawberry.ID | None:
        return None if self.record.reference_id is None else to_id(self.record.reference_id)

    @strawberry.field
    def mentions(self) -> MessageMentions:
        m = self.record.mentions
        return MessageMentions(
            user_ids=[to_id(i) for i in m.user_ids],
            role_ids=[to_id(i) for i in m.role_ids],
            everyone=m.everyone,
        )

    @strawberry.field
    def pinned(self) -> bool:
        return self.record.pinned

    @strawberry.field(description="When the content last changed; null if never edited.")
    def edited_at(self) -> datetime | None:
        return self.record.edited_at

    @strawberry.field(description="From the snowflake id.")
    def created_at(self) -> datetime:
        return created_at(self.record.id)


@strawberry.type
class MessageEdge:
    node: Message
    cursor: str


@strawberry.type(description="A page of history, oldest first.")
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo = strawberry.field(
        description="hasPreviousPage: older messages exist; hasNextPage: newer ones exist."
    )


@strawberry.input(description="Send a message to a text channel (SEND_MESSAGES).")
class SendMessageInput:
    channel_id: strawberry.ID
    content: str = strawberry.field(description="1-4000 characters after trimming.")
    nonce: str | None = strawberry.field(
        default=None,
        description="1-64 characters chosen by the client: a retry with the same nonce within "
        "10 minutes returns the first message instead of sending another.",
    )
    reply_to: strawberry.ID | None = strawberry.field(
        default=None, description="A message of the same channel to reply to."
    )


@strawberry.type
class SendMessagePayload:
    message: Message
    created: bool = strawberry.field(description="False when a retried nonce returned the first.")


@strawberry.input(description="Change your own message.")
class EditMessageInput:
    message_id: strawberry.ID
    content: str


@strawberry.type
class EditMessagePayload:
    message: Message


@strawberry.input(description="Delete a message: your own, or any with MANAGE_MESSAGES.")
class DeleteMessageInput:
    message_id: strawberry.ID


@strawberry.type
class DeleteMessagePayload:
    message_id: strawberry.ID
    channel_id: strawberry.ID


@strawberry.input(description="Delete up to 100 messages of one channel (MANAGE_MESSAGES).")
class BulkDeleteMessagesInput:
    channel_id: strawberry.ID
    message_ids: list[strawberry.ID]


@strawberry.type
class BulkDeleteMessagesPayload:
    deleted_message_ids: list[strawberry.ID]
