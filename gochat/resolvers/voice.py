"""Voice operations: regions, joining and leaving, own flags, and moderation."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.schema.common import MUTATION_INPUT, snowflake
from gochat.schema.context import Info
from gochat.schema.voice import (
    DisconnectVoiceMemberInput,
    DisconnectVoiceMemberPayload,
    JoinVoiceInput,
    JoinVoicePayload,
    LeaveVoicePayload,
    MoveVoiceMemberInput,
    MoveVoiceMemberPayload,
    ServerDeafenMemberInput,
    ServerDeafenMemberPayload,
    ServerMuteMemberInput,
    ServerMuteMemberPayload,
    UpdateVoiceStateInput,
    UpdateVoiceStatePayload,
    VoiceRegion,
    VoiceState,
)


@strawberry.type
class VoiceQuery:
    @strawberry.field(description="The voice regions, the default first.")
    async def voice_regions(self, info: Info) -> list[VoiceRegion]:
        await info.context.viewer()
        found = await info.context.services.voice.regions()
        return [VoiceRegion(id=region, available=alive) for region, alive in found]


@strawberry.type
class VoiceMutation:
    @strawberry.mutation(
        description="Join a voice channel: needs VOICE_CONNECT there and room under its user "
        "limit (CONFLICT when full; VOICE_MOVE_MEMBERS passes it). Leaves any other voice "
        "channel. UNAVAILABLE when no voice server of the channel's region is alive."
    )
    async def join_voice(
        self, info: Info, input: Annotated[JoinVoiceInput, MUTATION_INPUT]
    ) -> JoinVoicePayload:
        joined = await info.context.services.voice.join(
            await info.context.viewer(), snowflake(input.channel_id, field="channelId")
        )
        return JoinVoicePayload(
            sfu_url=joined.sfu_url,
            token=joined.token,
            region=joined.region,
            expires_at=joined.expires_at,
            voice_state=VoiceState.from_record(joined.state),
        )

    @strawberry.mutation(description="Leave voice (the voice server drops you).")
    async def leave_voice(self, info: Info) -> LeaveVoicePayload:
        ended = await info.context.services.voice.leave(await info.context.viewer())
        return LeaveVoicePayload(
            voice_state=None if ended is None else VoiceState.from_record(ended)
        )

    @strawberry.mutation(description="Set your own mute and deafen; NOT_FOUND when not in voice.")
    async def update_voice_state(
        self, info: Info, input: Annotated[UpdateVoiceStateInput, MUTATION_INPUT]
    ) -> UpdateVoiceStatePayload:
        state = await info.context.services.voice.update_self(
            await info.context.viewer(), self_mute=input.self_mute, self_deaf=input.self_deaf
        )
        return UpdateVoiceStatePayload(voice_state=VoiceState.from_record(state))

    @strawberry.mutation(
        description="Server-mute (or unmute) a member in voice: their audio is not forwarded."
    )
    async def server_mute_member(
        self, info: Info, input: Annotated[ServerMuteMemberInput, MUTATION_INPUT]
    ) -> ServerMuteMemberPayload:
        state = await info.context.services.voice.set_server_state(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            mute=input.mute,
        )
        return ServerMuteMemberPayload(voice_state=VoiceState.from_record(state))

    @strawberry.mutation(
        description="Server-deafen (or undeafen) a member in voice: they receive no audio."
    )
    async def server_deafen_member(
        self, info: Info, input: Annotated[ServerDeafenMemberInput, MUTATION_INPUT]
    ) -> ServerDeafenMemberPayload:
        state = await info.context.services.voice.set_server_state(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            deaf=input.deafen,
        )
        return ServerDeafenMemberPayload(voice_state=VoiceState.from_record(state))

    @strawberry.mutation(description="Move a member in voice to another voice channel.")
    async def move_voice_member(
        self, info: Info, input: Annotated[MoveVoiceMemberInput, MUTATION_INPUT]
    ) -> MoveVoiceMemberPayload:
        state = await info.context.services.voice.move(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            snowflake(input.to_channel_id, field="toChannelId"),
        )
        return MoveVoiceMemberPayload(voice_state=VoiceState.from_record(state))

    @strawberry.mutation(description="Drop a member from voice.")
    async def disconnect_voice_member(
        self, info: Info, input: Annotated[DisconnectVoiceMemberInput, MUTATION_INPUT]
    ) -> DisconnectVoiceMemberPayload:
        state = await info.context.services.voice.disconnect(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
        )
        return DisconnectVoiceMemberPayload(voice_state=VoiceState.from_record(state))
