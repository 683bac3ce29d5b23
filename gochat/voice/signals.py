"""Messages between the API and SFUs over the bus (ephemeral core subjects, JSON bodies).

SFU -> API, on `sfu_reports()`: a member joined or left a room, who is speaking, who sends
video, and a heartbeat listing every member an SFU holds (so the API expires the voice states
of an SFU that died and corrects any state it missed). API -> one SFU, on
`sfu_commands(sfu_id)`: apply a server mute or deafen, drop a member (kick, ban, timeout, lost
VOICE_CONNECT, moved elsewhere), or change what a member may send (VOICE_SPEAK / VOICE_VIDEO
changed). Both sides ignore kinds they do not know,
so either may be upgraded first.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from gochat.bus.subjects import PREFIX

HEARTBEAT_SECONDS = 5.0
# An SFU whose heartbeat has not arrived for this long is dead: its members leave voice.
HEARTBEAT_EXPIRY_SECONDS = 15.0


def sfu_reports() -> str:
    return f"{PREFIX}.voice.reports"


def sfu_commands(sfu_id: str) -> str:
    return f"{PREFIX}.voice.sfu.{sfu_id}"


class _Signal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MemberJoined(_Signal):
    kind: Literal["joined"] = "joined"
    sfu_id: str
    session_id: int
    user_id: int
    guild_id: int
    channel_id: int


class MemberLeft(_Signal):
    kind: Literal["left"] = "left"
    sfu_id: str
    session_id: int
    user_id: int
    guild_id: int
    channel_id: int


class SpeakingChanged(_Signal):
    kind: Literal["speaking"] = "speaking"
    sfu_id: str
    session_id: int
    user_id: int
    guild_id: int
    channel_id: int
    speaking: bool


class VideoChanged(_Signal):
    """A member started or stopped sending video (the SFU forwards a video track of theirs)."""

    kind: Literal["video"] = "video"
    sfu_id: str
    session_id: int
    user_id: int
    guild_id: int
    channel_id: int
    video: bool


class RoomMember(_Signal):
    session_id: int
    user_id: int
    guild_id: int
    channel_id: int


class Heartbeat(_Signal):
    kind: Literal["heartbeat"] = "heartbeat"
    sfu_id: str
    region: str
    url: str
    load: int
    members: list[RoomMember] = Field(default_factory=list)


class SetServerState(_Signal):
    kind: Literal["server_state"] = "server_state"
    session_id: int
    user_id: int
    server_mute: bool
    server_deaf: bool


class SetRights(_Signal):
    kind: Literal["rights"] = "rights"
    session_id: int
    user_id: int
    can_speak: bool
    can_video: bool


class Disconnect(_Signal):
    kind: Literal["disconnect"] = "disconnect"
    session_id: int
    user_id: int
    reason: str


Report = Annotated[
    MemberJoined | MemberLeft | SpeakingChanged | VideoChanged | Heartbeat,
    Field(discriminator="kind"),
]
Command = Annotated[SetServerState | SetRights | Disconnect, Field(discriminator="kind")]
_REPORTS: TypeAdapter[Report] = TypeAdapter(Report)
_COMMANDS: TypeAdapter[Command] = TypeAdapter(Command)


def encode(signal: _Signal) -> bytes:
    return signal.model_dump_json().encode()


def decode_report(payload: bytes) -> Report | None:
    """The report in `payload`, or None for a kind this process does not know."""
    try:
        return _REPORTS.validate_json(payload)
    except ValueError:
        return None


def decode_command(payload: bytes) -> Command | None:
    """The command in `payload`, or None for a kind this process does not know."""
    try:
        return _COMMANDS.validate_json(payload)
    except ValueError:
        return None
