"""Thread operations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.schema.channels import ThreadChannel
from gochat.schema.common import MUTATION_INPUT, snowflake, to_id
from gochat.schema.context import Info
from gochat.schema.threads import (
    CreateThreadInput,
    CreateThreadPayload,
    DeleteThreadInput,
    DeleteThreadPayload,
    JoinThreadInput,
    JoinThreadPayload,
    LeaveThreadInput,
    LeaveThreadPayload,
    UpdateThreadInput,
    UpdateThreadPayload,
)


@strawberry.type
class ThreadMutation:
    @strawberry.mutation(description="Start a thread in a text channel (CREATE_THREADS).")
    async def create_thread(
        self, info: Info, input: Annotated[CreateThreadInput, MUTATION_INPUT]
    ) -> CreateThreadPayload:
        thread = await info.context.services.threads.create(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            name=input.name,
            from_message_id=None
            if input.from_message_id is None
            else snowflake(input.from_message_id, field="fromMessageId"),
            auto_archive=input.auto_archive_minutes,
        )
        return CreateThreadPayload(thread=ThreadChannel(record=thread))

    @strawberry.mutation(
        description="Rename, archive, lock or set the auto-archive of a thread (MANAGE_THREADS, "
        "or its creator while it is not locked)."
    )
    async def update_thread(
        self, info: Info, input: Annotated[UpdateThreadInput, MUTATION_INPUT]
    ) -> UpdateThreadPayload:
        thread = await info.context.services.threads.update(
            await info.context.viewer(),
            snowflake(input.thread_id, field="threadId"),
            name=input.name,
            archived=input.archived,
            locked=input.locked,
            auto_archive=input.auto_archive_minutes,
        )
        return UpdateThreadPayload(thread=ThreadChannel(record=thread))

    @strawberry.mutation(description="Delete a thread (MANAGE_THREADS).")
    async def delete_thread(
        self, info: Info, input: Annotated[DeleteThreadInput, MUTATION_INPUT]
    ) -> DeleteThreadPayload:
        thread = await info.context.services.threads.delete(
            await info.context.viewer(), snowflake(input.thread_id, field="threadId")
        )
        return DeleteThreadPayload(thread_id=to_id(thread.id))

    @strawberry.mutation(description="Join a thread you can see.")
    async def join_thread(
        self, info: Info, input: Annotated[JoinThreadInput, MUTATION_INPUT]
    ) -> JoinThreadPayload:
        thread = await info.context.services.threads.join(
            await info.context.viewer(), snowflake(input.thread_id, field="threadId")
        )
        return JoinThreadPayload(thread=ThreadChannel(record=thread))

    @strawberry.mutation(description="Leave a thread.")
    async def leave_thread(
        self, info: Info, input: Annotated[LeaveThreadInput, MUTATION_INPUT]
    ) -> LeaveThreadPayload:
        thread = await info.context.services.threads.leave(
            await info.context.viewer(), snowflake(input.thread_id, field="threadId")
        )
        return LeaveThreadPayload(thread=ThreadChannel(record=thread))
