"""Message operations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.schema.common import LOOKUP_RULE, MUTATION_INPUT, snowflake, to_id
from gochat.schema.context import Info
from gochat.schema.embeds import embed_records
from gochat.schema.messages import (
    AckMessageInput,
    AckMessagePayload,
    AddReactionInput,
    AddReactionPayload,
    BulkDeleteMessagesInput,
    BulkDeleteMessagesPayload,
    DeleteMessageInput,
    DeleteMessagePayload,
    EditMessageInput,
    EditMessagePayload,
    Message,
    PinMessageInput,
    PinMessagePayload,
    ReadState,
    RemoveReactionInput,
    RemoveReactionPayload,
    SendMessageInput,
    SendMessagePayload,
    UnpinMessageInput,
    UnpinMessagePayload,
    to_emoji_ref,
)


@strawberry.type
class MessageQuery:
    @strawberry.field(description=f"A message you may read. {LOOKUP_RULE}")
    async def message(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Snowflake id of the message.")
        ],
    ) -> Message | None:
        found, _ = await info.context.services.messages.access(
            await info.context.viewer(), snowflake(id, field="id")
        )
        return Message(record=found)


@strawberry.type
class MessageMutation:
    @strawberry.mutation(description="Send a message (SEND_MESSAGES); idempotent by nonce.")
    async def send_message(
        self, info: Info, input: Annotated[SendMessageInput, MUTATION_INPUT]
    ) -> SendMessagePayload:
        message, created = await info.context.services.messages.send(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            content=input.content,
            nonce=input.nonce,
            reply_to=None if input.reply_to is None else snowflake(input.reply_to, field="replyTo"),
            attachment_ids=[snowflake(i, field="attachments") for i in input.attachments or ()],
            embeds=embed_records(input.embeds or []),
        )
        return SendMessagePayload(message=Message(record=message), created=created)

    @strawberry.mutation(
        description="Edit your own message, or suppress a message's generated embeds."
    )
    async def edit_message(
        self, info: Info, input: Annotated[EditMessageInput, MUTATION_INPUT]
    ) -> EditMessagePayload:
        message = await info.context.services.messages.edit(
            await info.context.viewer(),
            snowflake(input.message_id, field="messageId"),
            content=input.content,
            embeds=None if input.embeds is None else embed_records(input.embeds),
            suppress_embeds=input.suppress_embeds,
        )
        return EditMessagePayload(message=Message(record=message))

    @strawberry.mutation(description="Delete a message (author, or MANAGE_MESSAGES).")
    async def delete_message(
        self, info: Info, input: Annotated[DeleteMessageInput, MUTATION_INPUT]
    ) -> DeleteMessagePayload:
        message = await info.context.services.messages.delete(
            await info.context.viewer(), snowflake(input.message_id, field="messageId")
        )
        return DeleteMessagePayload(
            message_id=to_id(message.id), channel_id=to_id(message.channel_id)
        )

    @strawberry.mutation(description="Delete up to 100 messages at once (MANAGE_MESSAGES).")
    async def bulk_delete_messages(
        self, info: Info, input: Annotated[BulkDeleteMessagesInput, MUTATION_INPUT]
    ) -> BulkDeleteMessagesPayload:
        deleted = await info.context.services.messages.bulk_delete(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            [snowflake(i, field="messageIds") for i in input.message_ids],
        )
        return BulkDeleteMessagesPayload(deleted_message_ids=[to_id(m.id) for m in deleted])

    @strawberry.mutation(
        description="React to a message (ADD_REACTIONS; reacting twice is a no-op)."
    )
    async def add_reaction(
        self, info: Info, input: Annotated[AddReactionInput, MUTATION_INPUT]
    ) -> AddReactionPayload:
        message = await info.context.services.reactions.add(
            await info.context.viewer(),
            snowflake(input.message_id, field="messageId"),
            to_emoji_ref(input.emoji),
        )
        return AddReactionPayload(message=Message(record=message))

    @strawberry.mutation(description="Remove a reaction (yours, or others' with MANAGE_MESSAGES).")
    async def remove_reaction(
        self, info: Info, input: Annotated[RemoveReactionInput, MUTATION_INPUT]
    ) -> RemoveReactionPayload:
        message = await info.context.services.reactions.remove(
            await info.context.viewer(),
            snowflake(input.message_id, field="messageId"),
            to_emoji_ref(input.emoji),
            user_id=None if input.user_id is None else snowflake(input.user_id, field="userId"),
        )
        return RemoveReactionPayload(message=Message(record=message))

    @strawberry.mutation(
        description="Pin a message (MANAGE_MESSAGES); posts a MESSAGE_PINNED notice."
    )
    async def pin_message(
        self, info: Info, input: Annotated[PinMessageInput, MUTATION_INPUT]
    ) -> PinMessagePayload:
        message = await info.context.services.pins.set_pinned(
            await info.context.viewer(), snowflake(input.message_id, field="messageId"), pinned=True
        )
        return PinMessagePayload(message=Message(record=message))

    @strawberry.mutation(description="Unpin a message (MANAGE_MESSAGES).")
    async def unpin_message(
        self, info: Info, input: Annotated[UnpinMessageInput, MUTATION_INPUT]
    ) -> UnpinMessagePayload:
        message = await info.context.services.pins.set_pinned(
            await info.context.viewer(),
            snowflake(input.message_id, field="messageId"),
            pinned=False,
        )
        return UnpinMessagePayload(message=Message(record=message))

    @strawberry.mutation(description="Move your read marker forward (never back).")
    async def ack_message(
        self, info: Info, input: Annotated[AckMessageInput, MUTATION_INPUT]
    ) -> AckMessagePayload:
        state = await info.context.services.read_states.ack(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            snowflake(input.message_id, field="messageId"),
        )
        return AckMessagePayload(
            read_state=ReadState(
                channel_id=to_id(state.channel_id), last_read_message_id=to_id(state.last_read_id)
            )
        )
