"""Presence and typing operations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.schema.common import MUTATION_INPUT, snowflake
from gochat.schema.context import Info
from gochat.schema.presence import (
    Presence,
    SetPresenceInput,
    SetPresencePayload,
    StartTypingInput,
    StartTypingPayload,
    status_of,
)


@strawberry.type
class PresenceQuery:
    @strawberry.field(
        description="The presence of up to 100 users, in the order asked; users you share no "
        "guild, DM or friendship with (or across a block) show OFFLINE."
    )
    async def presences(
        self,
        info: Info,
        user_ids: Annotated[list[strawberry.ID], strawberry.argument(description="1-100 users.")],
    ) -> list[Presence]:
        found = await info.context.services.presence.snapshot(
            await info.context.viewer(), [snowflake(u, field="userIds") for u in user_ids]
        )
        return [Presence.from_record(p) for p in found]


@strawberry.type
class PresenceMutation:
    @strawberry.mutation(
        description="Set what you show others. Sent over a WebSocket, it sets that connection "
        "(your presence combines every connection: dnd over online over idle); over HTTP it "
        "sets every live connection of yours (CONFLICT when there is none); one closed within "
        "the grace period takes the status but still goes offline when the grace ends."
    )
    async def set_presence(
        self, info: Info, input: Annotated[SetPresenceInput, MUTATION_INPUT]
    ) -> SetPresencePayload:
        context = info.context
        presence = await context.services.presence.set_status(
            await context.viewer(),
            status_of(input.status),
            input.custom_status,
            connection=context.presence_session,
        )
        return SetPresencePayload(presence=Presence.from_record(presence))

    @strawberry.mutation(
        description="Show the channel's viewers that you are typing, for 10 seconds "
        "(SEND_MESSAGES; RATE_LIMITED when sent too often): on `typing` and `channelEvents`, "
        "and for a DM or group DM also on its participants' `events`."
    )
    async def start_typing(
        self, info: Info, input: Annotated[StartTypingInput, MUTATION_INPUT]
    ) -> StartTypingPayload:
        expires_at = await info.context.services.typing.start(
            await info.context.viewer(), snowflake(input.channel_id, field="channelId")
        )
        return StartTypingPayload(expires_at=expires_at)
