"""Rebuilding the search index from the message store (`gochat search reindex`).

Channels are taken in id order, each from its oldest message on, a page at a time; before a
page is read a fresh snowflake becomes the version of its documents, so a change made while
the rebuild runs (whose event carries a later id) still wins over what the rebuild wrote.
A channel's old documents are removed when its rebuild starts (not when it resumes), which
also drops documents of messages whose deletion the index never heard of. The position after
each page is handed to the caller, who keeps it to resume after an interruption.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from gochat.domain.records import MessageType, Upload
from gochat.domain.search import document_of
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.search import SearchIndex
from gochat.storage import DirectStore, GuildStore, MessageStore

PAGE_SIZE = 500
AttachmentsOf = Callable[[Sequence[Snowflake]], Awaitable[dict[Snowflake, list[Upload]]]]
_INDEXED = frozenset({MessageType.DEFAULT, MessageType.REPLY})


@dataclass(frozen=True, slots=True)
class RebuildPosition:
    channel_id: Snowflake
    message_id: Snowflake | None
    """The last message written; None when the channel's rebuild has not begun."""
    indexed: int
    """Messages written in this page."""


class SearchRebuild:
    def __init__(
        self,
        index: SearchIndex,
        *,
        messages: MessageStore,
        guilds: GuildStore,
        direct: DirectStore,
        attachments_of: AttachmentsOf,
        ids: SnowflakeGenerator,
    ) -> None:
        self._index = index
        self._messages = messages
        self._guilds = guilds
        self._direct = direct
        self._attachments_of = attachments_of
        self._ids = ids

    async def channels(self, guild_id: Snowflake | None) -> list[Snowflake]:
        """The channels a rebuild walks: one guild's text channels and threads, or every
        text channel, thread and DM."""
        found = await self._guilds.text_channel_ids(guild_id)
        if guild_id is None:
            found += await self._direct.all_channel_ids()
        return sorted(set(found))

    async def channel(
        self, channel_id: Snowflake, *, after: Snowflake | None
    ) -> AsyncIterator[RebuildPosition]:
        """Rebuild one channel from just after `after` (from its start, clearing it first,
        when None), yielding the position after each page."""
        if after is None:
            await self._index.delete_channel(channel_id)
        while True:
            version = self._ids.next_id()
            page = await self._messages.page(
                channel_id, before=None, after=after, limit=PAGE_SIZE, newest_first=False
            )
            if not page:
                return
            wanted = [m for m in page if m.type in _INDEXED]
            files = await self._attachments_of([m.id for m in wanted]) if wanted else {}
            await self._index.index(
                [document_of(m, files.get(m.id, []), version=version) for m in wanted]
            )
            after = page[-1].id
            yield RebuildPosition(channel_id, after, len(wanted))
            if len(page) < PAGE_SIZE:
                return
