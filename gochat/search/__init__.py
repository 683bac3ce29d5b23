"""The search port: a full-text index of messages, written by the indexer and read by the
search domain service.

Documents are keyed by message id and carry a version (the snowflake of the change they
describe): a write or a removal with an older version than the one stored is ignored, so
events that arrive twice or out of order never bring back older text or a deleted message.
A query always names the channels it may look in (the domain computes them from the viewer's
permissions at query time); the index never decides who may see what. Adapters: SQLite FTS5
and PostgreSQL full text in the relational database (`sql.py`), OpenSearch (`opensearch.py`).
Every method raises Unavailable when the engine cannot be reached.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gochat.ids import Snowflake

# Counting stops here: a total of TOTAL_CAP means "at least that many". Counting every match
# of a common word costs more than finding a page of them; a person reads no further anyway.
TOTAL_CAP = 1000


class Has(enum.IntFlag):
    """What a message contains besides text, as filters (`has:image`)."""

    LINK = 1
    ATTACHMENT = 2
    IMAGE = 4
    VIDEO = 8
    AUDIO = 16
    FILE = 32
    EMBED = 64


NO_FLAGS = Has(0)


@dataclass(frozen=True, slots=True)
class SearchDocument:
    message_id: Snowflake
    channel_id: Snowflake
    guild_id: Snowflake | None
    author_id: Snowflake
    content: str
    mention_user_ids: tuple[Snowflake, ...]
    has: Has
    pinned: bool
    version: int


@dataclass(frozen=True, slots=True)
class SearchRemoval:
    message_id: Snowflake
    channel_id: Snowflake
    version: int


@dataclass(frozen=True, slots=True)
class Term:
    """One text condition: every word of `text` (a phrase keeps their order), the last one
    as a prefix when `prefix`."""

    text: str
    phrase: bool = False
    prefix: bool = False


class Sort(enum.Enum):
    NEWEST = "newest"
    RELEVANCE = "relevance"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    channel_ids: Sequence[Snowflake]
    """The channels searched: never empty (the domain answers an empty set itself)."""
    terms: Sequence[Term] = ()
    author_ids: Sequence[Snowflake] = ()
    mention_user_ids: Sequence[Snowflake] = ()
    has: Has = NO_FLAGS
    """Every flag given must be set on the message."""
    min_id: Snowflake | None = None
    """Only messages with a greater id (sent later)."""
    max_id: Snowflake | None = None
    """Only messages with a smaller id (sent earlier)."""
    pinned: bool | None = None
    sort: Sort = Sort.NEWEST
    limit: int = 25
    offset: int = 0
    """For RELEVANCE pages; NEWEST pages narrow `max_id` instead."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    message_ids: list[Snowflake] = field(default_factory=list)
    """In the query's order."""
    total: int = 0
    """Matches in all, counted up to TOTAL_CAP."""


class SearchIndex(Protocol):
    async def ping(self) -> None:
        """Raise Unavailable unless the engine answers."""

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        """Write the documents in one bulk; each replaces the stored one of its message
        unless that has a version at least as new. Durable (searchable soon) on return."""

    async def delete(self, removals: Sequence[SearchRemoval]) -> None:
        """Remove the messages' documents; a removal is remembered with its version, so a
        write of an older version that arrives later is ignored."""

    async def delete_channel(self, channel_id: Snowflake) -> None:
        """Remove every document of the channel."""

    async def delete_guild(self, guild_id: Snowflake) -> None:
        """Remove every document of the guild's channels."""

    async def search(self, query: SearchQuery) -> SearchResult: ...

    async def refresh(self) -> None:
        """Make every write so far visible to searches now (tests, and the end of a
        rebuild); writes become visible on their own within about a second."""

    async def begin_rebuild(self) -> bool:
        """Prepare a new generation of the index when its layout changed (OpenSearch: a new
        mapping version, written beside the one served); True when one was begun, and then
        a full rebuild must fill it before `finish_rebuild`. False: rebuild in place."""

    async def finish_rebuild(self) -> None:
        """Serve the generation `begin_rebuild` began (a no-op when none was)."""

    async def count(self) -> int:
        """Documents stored (removals not counted), for operators and tests."""

    async def close(self) -> None: ...
