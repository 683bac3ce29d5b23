"""The direct port: DM and group channels and relationships between users."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gochat.domain.records import DirectChannel, FriendRequest
from gochat.ids import Snowflake
from gochat.storage.events import EventsOf


class DirectStore(Protocol):
    """DM channels and relationships between users. Changes are atomic; a 1:1 DM is unique
    per pair of users (concurrent opens return one channel)."""

    async def get_channel(self, channel_id: Snowflake) -> DirectChannel | None: ...
    async def all_channel_ids(self) -> list[Snowflake]:
        """Every DM and group DM channel, by id (for operators' tools)."""

    async def list_channels_of(self, user_id: Snowflake) -> list[DirectChannel]:
        """The user's DM and group channels, most recent message first."""

    async def open_pair(
        self, channel: DirectChannel, *, events: EventsOf[DirectChannel]
    ) -> tuple[DirectChannel, bool]:
        """The 1:1 channel of the pair in `channel.recipient_ids`, created from `channel`
        when missing; True when created."""

    async def create_group(
        self, channel: DirectChannel, *, events: EventsOf[DirectChannel]
    ) -> DirectChannel: ...
    async def set_recipients(
        self,
        channel_id: Snowflake,
        *,
        add: Sequence[Snowflake],
        remove: Sequence[Snowflake],
        max_recipients: int,
        new_owner: Snowflake | None,
        events: EventsOf[DirectChannel | None],
    ) -> DirectChannel | None:
        """Change a group's members at once (Conflict over the cap or for someone already in);
        None when nobody is left and the group ended."""

    async def touch(self, channel_id: Snowflake, message_id: Snowflake) -> None:
        """Record a newer last message (never moves back)."""

    async def relationship(self, user_id: Snowflake, other_id: Snowflake) -> set[str]: ...
    async def add_request(self, request: FriendRequest, *, events: EventsOf[FriendRequest]) -> None:
        """Conflict when one is already pending."""

    async def remove_request(
        self, from_id: Snowflake, to_id: Snowflake, *, events: EventsOf[bool]
    ) -> bool: ...
    async def befriend(
        self, requester: Snowflake, accepter: Snowflake, *, now: datetime, events: EventsOf[bool]
    ) -> bool: ...
    async def unfriend(
        self, user_id: Snowflake, friend_id: Snowflake, *, events: EventsOf[bool]
    ) -> bool: ...
    async def block(
        self, user_id: Snowflake, blocked_id: Snowflake, *, now: datetime, events: EventsOf[bool]
    ) -> bool: ...
    async def unblock(self, user_id: Snowflake, blocked_id: Snowflake) -> bool: ...
    async def friends_of(self, user_id: Snowflake) -> list[Snowflake]: ...
    async def requests_of(self, user_id: Snowflake) -> list[FriendRequest]: ...
    async def blocked_by(self, user_id: Snowflake) -> list[Snowflake]: ...
    async def who_blocked(
        self, user_id: Snowflake, among: Sequence[Snowflake]
    ) -> set[Snowflake]: ...
