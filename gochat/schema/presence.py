"""GraphQL types of presence and typing: what a user shows others, and who is typing where."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.schema.accounts import User, load_user
from gochat.schema.common import to_id
from gochat.schema.context import Info


@strawberry.enum(description="A presence status. OFFLINE is only shown, never reported.")
class PresenceStatus(enum.Enum):
    _value_: str
    ONLINE = strawberry.enum_value("online", description="Connected and active.")
    IDLE = strawberry.enum_value("idle", description="Connected but away.")
    DND = strawberry.enum_value("dnd", description="Do not disturb: connected, wants no noise.")
    INVISIBLE = strawberry.enum_value(
        "invisible", description="Connected but shown to others as OFFLINE (set only)."
    )
    OFFLINE = strawberry.enum_value(
        "offline", description="No live connection, or invisible (shown only)."
    )


@strawberry.type(
    description="A user's presence as others see it: their live connections combined "
    "(dnd over online over idle); invisible, or no live connection, shows OFFLINE."
)
class Presence:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    status: PresenceStatus = strawberry.field(description="The combined status others see.")
    custom_status: str | None = strawberry.field(
        description="The user's status text, at most 128 characters; null: none."
    )

    @classmethod
    def from_record(cls, presence: records.Presence) -> Presence:
        return cls(
            user_id=to_id(presence.user_id),
            status=PresenceStatus(presence.status.value),
            custom_status=presence.custom_status,
        )

    @strawberry.field(description="The user's public profile.")
    async def user(self, info: Info) -> User | None:
        return await load_user(info, int(self.user_id))


@strawberry.type(description="A user's presence changed (or, first, what it is now).")
class PresenceUpdated:
    presence: Presence = strawberry.field(description="The presence as it is now.")


@strawberry.type(description="Someone started typing in a channel; it lapses at `expiresAt`.")
class TypingStarted:
    channel_id: strawberry.ID = strawberry.field(description="The channel (guild channel or DM).")
    guild_id: strawberry.ID | None = strawberry.field(
        description="The channel's guild; null in DMs."
    )
    user_id: strawberry.ID = strawberry.field(description="Who is typing.")
    expires_at: datetime = strawberry.field(
        description="When to stop showing the indicator unless it is sent again."
    )

    @strawberry.field(description="Who is typing.")
    async def user(self, info: Info) -> User | None:
        return await load_user(info, int(self.user_id))


@strawberry.input(description="What your connections show others.")
class SetPresenceInput:
    status: PresenceStatus = strawberry.field(
        description="ONLINE, IDLE, DND or INVISIBLE (shown to others as OFFLINE)."
    )
    custom_status: str | None = strawberry.field(
        default=None, description="Up to 128 characters; blank or null clears it."
    )


@strawberry.type(description="Your presence as others see it.")
class SetPresencePayload:
    presence: Presence = strawberry.field(description="What others see now.")


@strawberry.input(description="Show the channel's viewers that you are typing.")
class StartTypingInput:
    channel_id: strawberry.ID = strawberry.field(
        description="A text channel where you may send messages, or a DM you are in."
    )


@strawberry.type(description="The typing indicator that was shown.")
class StartTypingPayload:
    expires_at: datetime = strawberry.field(
        description="When the indicator lapses; send again while still typing."
    )


def status_of(value: PresenceStatus) -> records.PresenceStatus:
    return records.PresenceStatus(value.value)
