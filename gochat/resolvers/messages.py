"""Message operations."""

from __future__ import annotations

import strawberry

from gochat.schema.common import snowflake, to_id
from gochat.schema.context import Info
from gochat.schema.messages import (
    BulkDeleteMessagesInput,
    BulkDeleteMessagesPayload,
    DeleteMessageInput,
    DeleteMessagePayload,
    EditMessageInput,
    EditMessagePayload,
    Message,
    SendMessageInput,
    SendMessagePayload,
)


@strawberry.type
class MessageQuery:
    @strawberry.field(description="A message you may read; NOT_FOUND otherwise.")
    async def message(self, info: Info, id: strawberry.ID) -> Message:
        found, _, _ = await info.context.services.messages.access(
            await info.context.viewer(), snowflake(id, field="id")
        )
        return Message(record=found)


@strawberry.type
class MessageMutation:
    @strawberry.mutation(description="Send a message (SEND_MESSAGES); idempotent by nonce.")
    async def send_message(self, info: Info, input: SendMessageInput) -> SendMessagePayload:
        message, created = await info.context.services.messages.send(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            content=input.content,
            nonce=input.nonce,
            reply_to=None if input.reply_to is None else snowflake(input.reply_to, field="replyTo"),
        )
        return SendMessagePayload(message=Message(record=message), created=created)

    @strawberry.mutation(description="Edit your own message.")
    async def edit_message(self, info: Info, input: EditMessageInput) -> EditMessagePayload:
        message = await info.context.services.messages.edit(
            await info.context.viewer(),
            snowflake(input.message_id, field="messageId"),
            content=input.content,
        )
        return EditMessagePayload(message=Message(record=message))

    @strawberry.mutation(description="Delete a message (author, or MANAGE_MESSAGES).")
    async def delete_message(self, info: Info, input: DeleteMessageInput) -> DeleteMessagePayload:
        message = await info.context.services.messages.delete(
            await info.context.viewer(), snowflake(input.message_id, field="messageId")
        )
        return DeleteMessagePayload(
            message_id=to_id(message.id), channel_id=to_id(message.channel_id)
        )

    @strawberry.mutation(description="Delete up to 100 messages at once (MANAGE_MESSAGES).")
    async def bulk_delete_messages(
        self, info: Info, input: BulkDeleteMessagesInput
    ) -> BulkDeleteMessagesPayload:
        deleted = await info.context.services.messages.bulk_delete(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            [snowflake(i, field="messageIds") for i in input.message_ids],
        )
        return BulkDeleteMessagesPayload(deleted_message_ids=[to_id(m.id) for m in deleted])
