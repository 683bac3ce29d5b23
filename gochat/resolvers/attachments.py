"""File operations: upload slots."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.domain import records
from gochat.schema.attachments import (
    CreateUploadInput,
    CreateUploadPayload,
    UploadHeader,
    UploadSlot,
    absolute,
)
from gochat.schema.common import MUTATION_INPUT, snowflake, to_id
from gochat.schema.context import Info


@strawberry.type
class AttachmentMutation:
    @strawberry.mutation(
        description="Ask for a place to upload one file (at most GOCHAT_UPLOAD_MAX_OPEN_SLOTS "
        "unused slots per user, each valid GOCHAT_UPLOAD_SLOT_TTL_SECONDS). Send the bytes as "
        "the slot says, then use its id: sendMessage(attachments), updateProfile"
        "(avatarUploadId), updateGuild(iconUploadId, bannerUploadId) or createEmoji(uploadId)."
    )
    async def create_upload(
        self, info: Info, input: Annotated[CreateUploadInput, MUTATION_INPUT]
    ) -> CreateUploadPayload:
        target = await info.context.services.attachments.create_upload(
            await info.context.viewer(),
            purpose=records.UploadPurpose(input.purpose.value),
            channel_id=None
            if input.channel_id is None
            else snowflake(input.channel_id, field="channelId"),
            guild_id=None if input.guild_id is None else snowflake(input.guild_id, field="guildId"),
            filename=input.filename,
            size=input.size,
            content_type=input.content_type,
        )
        return CreateUploadPayload(
            slot=UploadSlot(
                id=to_id(target.upload.id),
                url=absolute(info, target.url),
                method=target.method,
                headers=[UploadHeader(name=n, value=v) for n, v in target.headers],
                expires_at=target.expires_at,
            )
        )
