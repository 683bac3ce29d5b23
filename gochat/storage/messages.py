"""The messages port: channel timelines, reactions, pins, read states and mentions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gochat.bus import Envelope
from gochat.domain.records import (
    Embed,
    MentionRef,
    Mentions,
    Message,
    MessageFlag,
    ReactionCount,
    ReadState,
)
from gochat.ids import Snowflake
from gochat.storage.events import EventsOf


class MessageStore(Protocol):
    """Message timelines: per channel, ordered by snowflake id. Adapters: SQL and CQL."""

    async def ping(self) -> None:
        """Raise Unavailable unless the store answers."""

    async def insert_once(
        self,
        message: Message,
        *,
        nonce: str | None,
        window_start: datetime,
        events: EventsOf[Message],
    ) -> tuple[Message, bool]:
        """Store a message, durable on return. With a nonce already used by the same author in
        the channel since `window_start`, store nothing and return the first message with
        False; concurrent sends with one nonce store exactly one message. Raises Conflict
        when the first message was deleted meanwhile. `events` is called at most once, always
        for a message it stores; a store may also call it for a send that then proves a retry,
        whose events it does not store (publish only when the second value is True)."""

    async def get(self, message_id: Snowflake) -> Message | None: ...

    async def last_message_ids(
        self, channel_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Snowflake]:
        """The newest message id of each channel that has messages."""

    async def page(
        self,
        channel_id: Snowflake,
        *,
        before: Snowflake | None,
        after: Snowflake | None,
        limit: int,
        newest_first: bool,
    ) -> list[Message]:
        """Up to `limit` messages strictly between the bounds, nearest the anchor first:
        newest first when reading back (`newest_first`), oldest first when reading forward."""

    async def edit(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        content: str | None,
        mentions: Mentions | None,
        embeds: Sequence[Embed] | None,
        flags: MessageFlag | None,
        edited_at: datetime | None,
        events: EventsOf[Message],
    ) -> Message | None:
        """Change what is not None; None when the message does not exist. A new content also
        clears the generated embeds and their version (they were made for the old one). With
        nothing to change, the message as it is and no events."""

    async def set_generated_embeds(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        embeds: Sequence[Embed],
        *,
        content: str,
        version: str,
        events: EventsOf[Message],
    ) -> Message | None:
        """Store the embeds generated for `version` only while the message's content is still
        `content` and no embeds were stored for that version yet; the changed message, or None
        when nothing was stored (deleted, edited since, or done already: a replay)."""

    async def delete(
        self,
        channel_id: Snowflake,
        message_ids: Sequence[Snowflake],
        *,
        events: EventsOf[list[Message]],
    ) -> list[Message]:
        """Delete the messages that exist among `message_ids` (with their reactions and
        mentions); the deleted ones."""

    async def set_pinned(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        pinned: bool,
        events: EventsOf[Message],
    ) -> Message | None:
        """Pin or unpin; None when the message does not exist. Events only on a change."""

    async def pins(self, channel_id: Snowflake) -> list[Message]:
        """Pinned messages, newest first."""

    async def add_reaction(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        user_id: Snowflake,
        *,
        now: datetime,
        events: EventsOf[bool],
    ) -> bool:
        """True when added, False when the user had already reacted with it."""

    async def remove_reaction(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        user_id: Snowflake,
        *,
        events: EventsOf[bool],
    ) -> bool: ...

    async def reaction_counts(
        self, channel_id: Snowflake, message_ids: Sequence[Snowflake], viewer_id: Snowflake
    ) -> dict[Snowflake, list[ReactionCount]]:
        """Per message, each emoji's count and whether the viewer is among them, in order of
        first reaction."""

    async def reactors(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        *,
        after_user_id: Snowflake | None,
        limit: int,
    ) -> list[Snowflake]:
        """User ids who reacted with `emoji`, by user id."""

    async def ack(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        events: EventsOf[ReadState],
    ) -> ReadState:
        """Move the read marker forward to `message_id`; never backward. Returns the marker.
        Events only when it moved."""

    async def ack_foreseen(self, state: ReadState, envelopes: Sequence[Envelope]) -> bool:
        """Move the read marker forward to `state` as `ack` does, writing `envelopes` (the
        event of that move, made up front) with it only if it moved; returns whether it did,
        so the caller publishes them only then. Where the store can, the move rides in the
        next write of sends (the author's own marker after each send)."""

    async def read_states(
        self, user_id: Snowflake, channel_ids: Sequence[Snowflake] | None = None
    ) -> list[ReadState]: ...

    async def count_after(
        self, channel_id: Snowflake, after_id: Snowflake | None, *, cap: int
    ) -> int:
        """Messages newer than `after_id` (all when None), counting at most `cap`."""

    async def message_counts(
        self, channel_ids: Sequence[Snowflake], *, cap: int
    ) -> dict[Snowflake, int]:
        """How many messages each channel holds, each counted up to `cap`, in one read
        (channels without messages are left out)."""

    async def count_mentions_after(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        after_id: Snowflake | None,
        *,
        role_ids: Sequence[Snowflake],
        cap: int,
    ) -> int:
        """Messages newer than `after_id` mentioning the user directly or through one of
        `role_ids` (include the guild id for @everyone), not authored by the user."""

    async def mentions_of(
        self, user_id: Snowflake, *, before_message_id: Snowflake | None, limit: int
    ) -> list[MentionRef]:
        """Direct mentions of the user, newest first."""
