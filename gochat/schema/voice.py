"""GraphQL types of voice: voice states, regions, the join credentials and voice events."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gochat.domain import events, records
from gochat.errors import NotFound
from gochat.schema.accounts import User, load_user
from gochat.schema.channels import Channel, channel_shape
from gochat.schema.common import to_id
from gochat.schema.context import Info


@strawberry.type(
    description="A member in a voice channel, once their client reached the voice server. "
    "One per user: joining another channel replaces it."
)
class VoiceState:
    record: strawberry.Private[records.VoiceState]

    @classmethod
    def from_record(cls, record: records.VoiceState) -> VoiceState:
        return cls(record=record)

    @strawberry.field(description="The member's user id.")
    def user_id(self) -> strawberry.ID:
        return to_id(self.record.user_id)

    @strawberry.field(description="The guild.")
    def guild_id(self) -> strawberry.ID:
        return to_id(self.record.guild_id)

    @strawberry.field(description="The voice channel.")
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field(description="The member's public profile.")
    async def user(self, info: Info) -> User | None:
        return await load_user(info, self.record.user_id)

    @strawberry.field(description="The voice channel; null if you can no longer see it.")
    async def channel(self, info: Info) -> Channel | None:
        try:
            _, channel = await info.context.services.channels.access(
                await info.context.viewer(), self.record.channel_id
            )
        except NotFound:
            return None
        return channel_shape(channel)

    @strawberry.field(description="The member muted their microphone.")
    def self_mute(self) -> bool:
        return self.record.self_mute

    @strawberry.field(description="The member turned their sound off.")
    def self_deaf(self) -> bool:
        return self.record.self_deaf

    @strawberry.field(description="A moderator muted the member: the SFU forwards no audio.")
    def server_mute(self) -> bool:
        return self.record.server_mute

    @strawberry.field(description="A moderator deafened the member: the SFU sends them nothing.")
    def server_deaf(self) -> bool:
        return self.record.server_deaf

    @strawberry.field(description="The member is sending video.")
    def video(self) -> bool:
        return self.record.video

    @strawberry.field(description="The SFU hears the member speak right now.")
    def speaking(self) -> bool:
        return self.record.speaking


@strawberry.type(description="A region voice servers run in.")
class VoiceRegion:
    id: str = strawberry.field(description="The region id, as in a voice channel's voiceRegion.")
    available: bool = strawberry.field(
        description="At least one voice server of the region is alive: joins can succeed."
    )


@strawberry.input(description="Join a voice channel (VOICE_CONNECT, within its user limit).")
class JoinVoiceInput:
    channel_id: strawberry.ID = strawberry.field(description="A voice channel you can see.")


@strawberry.type(
    description="Where to connect: open the SFU's signaling WebSocket at `sfuUrl` and join "
    "with `token` before `expiresAt`. You appear in voiceStates once the SFU has you."
)
class JoinVoicePayload:
    sfu_url: str = strawberry.field(description="The voice server's signaling WebSocket URL.")
    token: str = strawberry.field(
        description="The SFU join token: for this voice server, channel and session only."
    )
    region: str = strawberry.field(description="The region of the voice server.")
    expires_at: datetime = strawberry.field(description="When the token stops being accepted.")
    voice_state: VoiceState = strawberry.field(description="Your voice state, not yet connected.")


@strawberry.type(description="You left voice.")
class LeaveVoicePayload:
    voice_state: VoiceState | None = strawberry.field(
        description="The voice state that ended; null when you were not in voice."
    )


@strawberry.input(description="Your own mute and deafen; omitted fields stay.")
class UpdateVoiceStateInput:
    self_mute: bool | None = strawberry.field(default=None, description="Mute your microphone.")
    self_deaf: bool | None = strawberry.field(default=None, description="Turn your sound off.")


@strawberry.type(description="Your voice state as it is now.")
class UpdateVoiceStatePayload:
    voice_state: VoiceState = strawberry.field(description="Your voice state.")


@strawberry.input(description="Server-mute a member in voice (VOICE_MUTE_MEMBERS in the channel).")
class ServerMuteMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="A member who is in voice there.")
    mute: bool = strawberry.field(default=True, description="false lifts the mute.")


@strawberry.input(
    description="Server-deafen a member in voice (VOICE_DEAFEN_MEMBERS in the channel)."
)
class ServerDeafenMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="A member who is in voice there.")
    deafen: bool = strawberry.field(default=True, description="false lifts the deafen.")


@strawberry.input(
    description="Move a member in voice to another voice channel (VOICE_MOVE_MEMBERS in both); "
    "they must be allowed to connect there. They receive VoiceServerUpdated on `events`."
)
class MoveVoiceMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="A member who is in voice there.")
    to_channel_id: strawberry.ID = strawberry.field(description="The target voice channel.")


@strawberry.input(description="Drop a member from voice (VOICE_MOVE_MEMBERS in the channel).")
class DisconnectVoiceMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="A member who is in voice there.")


@strawberry.type(description="The member's voice state after the change.")
class VoiceMemberPayload:
    voice_state: VoiceState = strawberry.field(
        description="The voice state as it is now (for a disconnect: the one that ended)."
    )


@strawberry.type(description="The member's voice state with the server mute applied.")
class ServerMuteMemberPayload(VoiceMemberPayload):
    pass


@strawberry.type(description="The member's voice state with the server deafen applied.")
class ServerDeafenMemberPayload(VoiceMemberPayload):
    pass


@strawberry.type(description="The member's voice state in the channel they were moved to.")
class MoveVoiceMemberPayload(VoiceMemberPayload):
    pass


@strawberry.type(description="The voice state that the disconnect ended.")
class DisconnectVoiceMemberPayload(VoiceMemberPayload):
    pass


# --- events ----------------------------------------------------------------------------


@strawberry.type(
    description="A member's voice state in a channel appeared or changed; `voiceState` null: "
    "they left that channel (hung up, moved, disconnected, or their voice server died)."
)
class VoiceStateUpdated:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    channel_id: strawberry.ID = strawberry.field(description="The voice channel.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    voice_state: VoiceState | None = strawberry.field(
        description="The state now; null when the member left the channel."
    )


@strawberry.type(description="A member in voice started or stopped speaking.")
class SpeakingUpdated:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    channel_id: strawberry.ID = strawberry.field(description="The voice channel.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    speaking: bool = strawberry.field(description="Whether they speak now.")


@strawberry.type(
    description="Connect to this voice server now (you were moved, or the channel's region "
    "changed): leave the old one and join here with the new token. Only you receive it."
)
class VoiceServerUpdated:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    channel_id: strawberry.ID = strawberry.field(description="The voice channel to join.")
    sfu_url: str = strawberry.field(description="The voice server's signaling WebSocket URL.")
    token: str = strawberry.field(description="The SFU join token for it.")
    region: str = strawberry.field(description="The region of the voice server.")
    expires_at: datetime = strawberry.field(description="When the token stops being accepted.")


VoiceEvent = VoiceStateUpdated | SpeakingUpdated | VoiceServerUpdated


def voice_event(event: events.Event) -> VoiceEvent | None:
    """The GraphQL shape of a voice domain event; None for any other event."""
    match event:
        case events.VoiceStateUpdated(guild_id=g, channel_id=c, user_id=u, state=s):
            return VoiceStateUpdated(
                guild_id=to_id(g),
                channel_id=to_id(c),
                user_id=to_id(u),
                voice_state=None if s is None else VoiceState.from_record(s),
            )
        case events.SpeakingUpdated(guild_id=g, channel_id=c, user_id=u, speaking=on):
            return SpeakingUpdated(
                guild_id=to_id(g), channel_id=to_id(c), user_id=to_id(u), speaking=on
            )
        case events.VoiceServerUpdated():
            return VoiceServerUpdated(
                guild_id=to_id(event.guild_id),
                channel_id=to_id(event.channel_id),
                sfu_url=event.sfu_url,
                token=event.token,
                region=event.region,
                expires_at=event.expires_at,
            )
    return None
