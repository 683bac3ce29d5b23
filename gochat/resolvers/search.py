"""Message search."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.domain.search import PAGE_DEFAULT, PAGE_MAX, SearchFilters
from gochat.schema.common import AFTER, decode_cursor, snowflake
from gochat.schema.context import Info
from gochat.schema.search import (
    CURSOR_KINDS,
    SearchHitConnection,
    SearchMessagesInput,
    has_flags,
    search_connection,
    sort_of,
)


@strawberry.type
class SearchMessagesQuery:
    @strawberry.field(
        description="Messages you may read that match a query, newest or best first. Only "
        "channels you can read now are searched; deleted messages never show, edited ones "
        "with their current text. UNAVAILABLE while the search engine is unreachable."
    )
    async def search_messages(
        self,
        info: Info,
        input: Annotated[
            SearchMessagesInput, strawberry.argument(description="Where and what to search.")
        ],
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"Page size: 1-{PAGE_MAX} hits (default {PAGE_DEFAULT})."
            ),
        ] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> SearchHitConnection:
        sort = sort_of(input.sort)
        position = decode_cursor(CURSOR_KINDS[sort], after, field="after")
        page = await info.context.services.search.search(
            await info.context.viewer(),
            SearchFilters(
                query=input.query,
                author_ids=[snowflake(i, field="authorIds") for i in input.author_ids or ()],
                mention_user_ids=[snowflake(i, field="mentions") for i in input.mentions or ()],
                has=has_flags(input.has),
                before=input.before,
                after=input.after,
                pinned=input.pinned,
                sort=sort,
            ),
            guild_id=None if input.guild_id is None else snowflake(input.guild_id, field="guildId"),
            channel_id=None
            if input.channel_id is None
            else snowflake(input.channel_id, field="channelId"),
            direct_only=input.direct_only,
            limit=PAGE_DEFAULT if first is None else first,
            after_position=position,
        )
        return search_connection(page, sort, has_previous=after is not None)
