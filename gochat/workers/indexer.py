"""The search indexer: keeps the search index in step with the message store, as a handler of
the worker runner (gochat/workers/runner.py).

A batch becomes at most one bulk write, one bulk removal, then the channel (threads included)
and guild removals (last, so a channel's deletion wins over a late write of one of its messages
in the same batch). Each document carries the id of the event that produced it as its
version, so the index keeps the newest of events that arrive twice or out of order, and a
removal outranks the writes that came before it. Only messages users write are indexed
(system notices have no text).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from gochat.domain.events import (
    ChannelDeleted,
    Event,
    GuildDeleted,
    MessageCreated,
    MessagePinned,
    MessagesDeleted,
    MessageUpdated,
    ThreadDeleted,
)
from gochat.domain.records import Message, MessageType, Upload
from gochat.domain.search import document_of
from gochat.ids import Snowflake
from gochat.search import SearchDocument, SearchIndex, SearchRemoval

INDEXED_TYPES = frozenset({MessageType.DEFAULT, MessageType.REPLY})
AttachmentsOf = Callable[[Sequence[Snowflake]], Awaitable[dict[Snowflake, list[Upload]]]]


class SearchIndexer:
    name = "indexer"
    event_types = frozenset(
        cls.TYPE
        for cls in (
            MessageCreated,
            MessageUpdated,
            MessagePinned,
            MessagesDeleted,
            ChannelDeleted,
            ThreadDeleted,
            GuildDeleted,
        )
    )
    batch_size = 500

    def __init__(self, index: SearchIndex, attachments_of: AttachmentsOf) -> None:
        self._index = index
        self._attachments_of = attachments_of

    def wants(self, event: Event) -> bool:
        return True

    async def handle(self, events: Sequence[Event]) -> None:
        written: list[tuple[Message, int]] = []
        removals: list[SearchRemoval] = []
        channels: list[Snowflake] = []
        guilds: list[Snowflake] = []
        for event in events:
            if isinstance(event, MessageCreated | MessageUpdated | MessagePinned):
                if event.message.type in INDEXED_TYPES:
                    written.append((event.message, event.event_id))
            elif isinstance(event, MessagesDeleted):
                removals.extend(
                    SearchRemoval(m, event.channel_id, event.event_id) for m in event.message_ids
                )
            elif isinstance(event, ChannelDeleted):
                channels.append(event.channel.id)
            elif isinstance(event, ThreadDeleted):
                channels.append(event.thread.id)
            elif isinstance(event, GuildDeleted):
                guilds.append(event.guild_id)
        if written:
            await self._index.index(await self.documents(written))
        if removals:
            await self._index.delete(removals)
        for channel_id in dict.fromkeys(channels):
            await self._index.delete_channel(channel_id)
        for guild_id in dict.fromkeys(guilds):
            await self._index.delete_guild(guild_id)

    async def documents(self, messages: Sequence[tuple[Message, int]]) -> list[SearchDocument]:
        """The documents of messages, each with its version, their attachments read in one
        query."""
        files = await self._attachments_of(list(dict.fromkeys(m.id for m, _ in messages)))
        return [document_of(m, files.get(m.id, []), version=v) for m, v in messages]
