"""GraphQL types for message search."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain.search import PAGE_DEFAULT, PAGE_MAX, SearchPage
from gochat.domain.search import SearchHit as HitRecord
from gochat.schema.common import (
    EDGE_CURSOR,
    EDGE_NODE,
    EDGES,
    PAGE_INFO,
    PageInfo,
    encode_cursor,
    page_info,
)
from gochat.schema.messages import Message
from gochat.search import TOTAL_CAP, Has, Sort


@strawberry.enum(description="Something a message holds besides text, as a search filter.")
class SearchHas(enum.Enum):
    LINK = strawberry.enum_value("LINK", description="An http(s) link in its text.")
    ATTACHMENT = strawberry.enum_value("ATTACHMENT", description="Any attached file.")
    IMAGE = strawberry.enum_value("IMAGE", description="An attached image.")
    VIDEO = strawberry.enum_value("VIDEO", description="An attached video.")
    AUDIO = strawberry.enum_value("AUDIO", description="An attached audio file.")
    FILE = strawberry.enum_value(
        "FILE", description="An attached file that is no image, video or audio."
    )
    EMBED = strawberry.enum_value("EMBED", description="A link preview (embed).")


@strawberry.enum(description="The order of search results.")
class SearchSort(enum.Enum):
    NEWEST = strawberry.enum_value("NEWEST", description="Newest message first.")
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE", description="Best match first (newest first among equals)."
    )


def has_flags(values: list[SearchHas] | None) -> Has:
    flags = Has(0)
    for value in values or ():
        flags |= Has[value.name]
    return flags


def sort_of(value: SearchSort) -> Sort:
    return Sort.NEWEST if value is SearchSort.NEWEST else Sort.RELEVANCE


QUERY_SYNTAX = (
    "Words (all must occur; case and accents do not matter; CJK text is found inside longer "
    'runs), "quoted phrases", prefix*, from:handle, mentions:handle, has:image (link, '
    "attachment, image, video, audio, file, embed), in:channel (name or <#id>), "
    "before:YYYY-MM-DD, after:YYYY-MM-DD (UTC days, or ISO 8601 instants) and pinned:true. "
    "Other key:value words are plain text. At most 512 characters and 16 words or phrases."
)


@strawberry.input(
    description="What to search: exactly one of guildId, channelId and directOnly, then the "
    "query and filters (all must hold)."
)
class SearchMessagesInput:
    guild_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Search a guild you are in: its text channels where you have "
        "VIEW_CHANNELS and READ_MESSAGE_HISTORY.",
    )
    channel_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Search one text channel (READ_MESSAGE_HISTORY) or one DM you are in.",
    )
    direct_only: bool = strawberry.field(
        default=False, description="Search your DMs and group DMs."
    )
    query: str = strawberry.field(default="", description=QUERY_SYNTAX)
    author_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Sent by any of these users (added to from:)."
    )
    mentions: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Mentioning any of these users (added to mentions:)."
    )
    has: list[SearchHas] | None = strawberry.field(
        default=None, description="Holding all of these (added to has:)."
    )
    before: datetime | None = strawberry.field(
        default=None, description="Sent before this instant."
    )
    after: datetime | None = strawberry.field(default=None, description="Sent after this instant.")
    pinned: bool | None = strawberry.field(
        default=None, description="true: pinned messages only; false: unpinned only."
    )
    sort: SearchSort = strawberry.field(
        default=SearchSort.NEWEST, description="Newest first (default) or best match first."
    )


@strawberry.type(description="A part of a text, counted in UTF-16 code units (as JavaScript).")
class TextRange:
    start: int = strawberry.field(description="Offset of the first code unit.")
    length: int = strawberry.field(description="Number of code units.")


@strawberry.type(
    description="Up to about 200 characters of the message's current text around its first "
    "match (… marks a cut), with every match in it."
)
class SearchSnippet:
    text: str = strawberry.field(description="The excerpt.")
    highlights: list[TextRange] = strawberry.field(
        description="The parts of `text` that match the query's words, in order."
    )


@strawberry.type(description="A message that matches a search.")
class SearchHit:
    message: Message = strawberry.field(description="The message as it is now.")
    snippet: SearchSnippet = strawberry.field(description="Where it matches.")

    @classmethod
    def from_record(cls, hit: HitRecord) -> SearchHit:
        return cls(
            message=Message(record=hit.message),
            snippet=SearchSnippet(
                text=hit.snippet.text,
                highlights=[TextRange(start=s, length=n) for s, n in hit.snippet.highlights],
            ),
        )


@strawberry.type(description="One hit in a page of search results.")
class SearchHitEdge:
    node: SearchHit = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(
    description=f"A page of search results ({PAGE_DEFAULT} by default, at most {PAGE_MAX})."
)
class SearchHitConnection:
    edges: list[SearchHitEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
    total_count: int = strawberry.field(
        description=f"Messages matching in all, as the index counts them (up to {TOTAL_CAP}: "
        f"more shows {TOTAL_CAP}); a few may since have been deleted or edited away."
    )


CURSOR_KINDS = {Sort.NEWEST: "search", Sort.RELEVANCE: "searchrank"}


def search_connection(page: SearchPage, sort: Sort, *, has_previous: bool) -> SearchHitConnection:
    kind = CURSOR_KINDS[sort]
    edges = [
        SearchHitEdge(node=SearchHit.from_record(h), cursor=encode_cursor(kind, h.position))
        for h in page.hits
    ]
    return SearchHitConnection(
        edges=edges,
        page_info=page_info(edges, has_next=page.has_next, has_previous=has_previous),
        total_count=page.total,
    )
