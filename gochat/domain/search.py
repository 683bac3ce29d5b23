"""Message search: the documents the indexer writes, and queries answered for a viewer.

Who may see what is decided here, at query time, never by what was indexed: a search names
one guild (its text channels and their threads where the viewer has VIEW_CHANNELS and
READ_MESSAGE_HISTORY), one channel (the same rule, or a DM the viewer is in), or the viewer's
DMs; those channel ids go into the index query, so a permission change applies to the next
search without reindexing.
Hits are read again from the message store: a deleted message never shows, and a message
shows with its current text (one whose current text no longer matches is left out, for the
moment between an edit and its indexing). The snippet and its highlights come from that text.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from gochat.domain import embeds
from gochat.domain.channel_access import ChannelAccessResolver
from gochat.domain.guild_access import GuildAccess
from gochat.domain.permissions import Permission
from gochat.domain.records import ChannelType, Message, Upload, Viewer
from gochat.domain.search_syntax import ParsedQuery, parse_query
from gochat.errors import BadUserInput
from gochat.ids import GOCHAT_EPOCH_MS, SEQUENCE_BITS, WORKER_BITS, Snowflake, parse_id
from gochat.search import (
    NO_FLAGS,
    Has,
    SearchDocument,
    SearchIndex,
    SearchQuery,
    Sort,
    Term,
)
from gochat.search.text import fold_mapped, is_cjk
from gochat.storage import AccountStore, DirectStore, MessageStore

PAGE_DEFAULT = 25
PAGE_MAX = 100
OFFSET_MAX = 1000
SNIPPET_MAX = 200
SNIPPET_LEAD = 60
_LINK = re.compile(r"https?://\S", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_USER_REF = re.compile(r"^<@!?(\d{1,19})>$")
_CHANNEL_REF = re.compile(r"^<#(\d{1,19})>$")
_READ = Permission.VIEW_CHANNELS | Permission.READ_MESSAGE_HISTORY
_SEARCHED = frozenset({ChannelType.TEXT, ChannelType.THREAD})
_TIME_SHIFT = WORKER_BITS + SEQUENCE_BITS


def document_of(message: Message, attachments: Sequence[Upload], *, version: int) -> SearchDocument:
    """The search document of a message as it is now, with its attachments."""
    has = NO_FLAGS
    if _LINK.search(message.content):
        has |= Has.LINK
    if embeds.visible(message):
        has |= Has.EMBED
    for upload in attachments:
        has |= Has.ATTACHMENT
        kind = (upload.content_type or upload.declared_type or "").split("/", 1)[0].lower()
        has |= {"image": Has.IMAGE, "video": Has.VIDEO, "audio": Has.AUDIO}.get(kind, Has.FILE)
    return SearchDocument(
        message_id=message.id,
        channel_id=message.channel_id,
        guild_id=message.guild_id,
        author_id=message.author_id,
        content=message.content,
        mention_user_ids=message.mentions.user_ids,
        has=has,
        pinned=message.pinned,
        version=version,
    )


def snowflake_at(moment: datetime) -> Snowflake:
    """The smallest snowflake of that millisecond (0 before the epoch)."""
    ms = int(moment.timestamp() * 1000) - GOCHAT_EPOCH_MS
    return Snowflake(max(ms, 0) << _TIME_SHIFT)


# --- highlighting -------------------------------------------------------------------------


def _pattern(term: Term) -> str | None:
    words = _WORD.findall(fold_mapped(term.text)[0])
    if not words:
        return None
    parts: list[str] = []
    for position, word in enumerate(words):
        last = position == len(words) - 1
        if is_cjk(word):
            parts.append(re.escape(word))
            continue
        end = r"[^\W_]*" if last and term.prefix else r"(?![^\W_])"
        parts.append(r"(?<![^\W_])" + re.escape(word) + end)
    return r"[\W_]*".join(parts)


def highlight(content: str, terms: Sequence[Term]) -> list[tuple[int, int]] | None:
    """Ranges [start, end) of `content` (code points) that match the terms, merged and in
    order; None when some term does not occur at all."""
    folded, origin = fold_mapped(content)
    ranges: list[tuple[int, int]] = []
    for term in terms:
        pattern = _pattern(term)
        if pattern is None:
            continue
        found = [
            (origin[m.start()], origin[m.end() - 1] + 1)
            for m in re.finditer(pattern, folded)
            if m.end() > m.start()
        ]
        if not found:
            return None
        ranges.extend(found)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]]
    """(start, length) in UTF-16 code units of `text`, as JavaScript strings count."""


def snippet_of(content: str, ranges: Sequence[tuple[int, int]]) -> Snippet:
    start, end = 0, len(content)
    if len(content) > SNIPPET_MAX:
        first = ranges[0][0] if ranges else 0
        start = max(0, first - SNIPPET_LEAD)
        space = content.rfind(" ", 0, start)
        if start > 0 and space != -1 and start - space < 20:
            start = space + 1
        end = min(len(content), start + SNIPPET_MAX)
    text = ("…" if start > 0 else "") + content[start:end] + ("…" if end < len(content) else "")
    shift = 1 if start > 0 else 0
    spans: list[tuple[int, int]] = []
    for low, high in ranges:
        a, b = max(low, start), min(high, end)
        if a < b:
            first = _utf16(text, a - start + shift)
            spans.append((first, _utf16(text, b - start + shift) - first))
    return Snippet(text=text, highlights=spans)


# --- queries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchFilters:
    query: str = ""
    author_ids: Sequence[Snowflake] = ()
    mention_user_ids: Sequence[Snowflake] = ()
    has: Has = NO_FLAGS
    before: datetime | None = None
    after: datetime | None = None
    pinned: bool | None = None
    sort: Sort = Sort.NEWEST


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: Message
    snippet: Snippet
    position: int
    """Where the next page starts: the message id when NEWEST, the results up to and
    including this one when RELEVANCE (rank + 1)."""


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0
    has_next: bool = False


class SearchService:
    def __init__(
        self,
        index: SearchIndex,
        *,
        messages: MessageStore,
        guilds: GuildAccess,
        channels: ChannelAccessResolver,
        direct: DirectStore,
        accounts: AccountStore,
    ) -> None:
        self.index = index
        self._messages = messages
        self._guilds = guilds
        self._channels = channels
        self._direct = direct
        self._accounts = accounts

    async def _scope(
        self,
        viewer: Viewer,
        *,
        guild_id: Snowflake | None,
        channel_id: Snowflake | None,
        direct_only: bool,
    ) -> dict[Snowflake, str]:
        """The channels searched, with their names (for in:), for this viewer now."""
        if sum((guild_id is not None, channel_id is not None, direct_only)) != 1:
            raise BadUserInput(
                "give exactly one of guildId, channelId and directOnly", field="guildId"
            )
        if guild_id is not None:
            view = await self._guilds.view(viewer, guild_id)
            # Threads too: a thread takes its parent's permissions.
            return {
                c.id: c.name
                for c in view.data.channels.values()
                if c.type in _SEARCHED and view.permissions_in(c) & _READ == _READ
            }
        if channel_id is not None:
            access = await self._channels.message_channel(viewer, channel_id)
            access.require(Permission.READ_MESSAGE_HISTORY, "search the history")
            name = access.guild_channel.name if access.guild_channel is not None else ""
            return {access.channel_id: name}
        return {c.id: c.name or "" for c in await self._direct.list_channels_of(viewer.user_id)}

    async def _users(self, refs: Sequence[str]) -> list[Snowflake]:
        found: list[Snowflake] = []
        for ref in refs:
            mention = _USER_REF.match(ref)
            user_id = parse_id(mention.group(1) if mention else ref)
            if user_id is not None:
                found.append(user_id)
                continue
            user = await self._accounts.get_user_by_handle(ref.removeprefix("@").lower())
            if user is not None:
                found.append(user.id)
        return found

    @staticmethod
    def _named_channels(scope: dict[Snowflake, str], refs: Sequence[str]) -> set[Snowflake]:
        chosen: set[Snowflake] = set()
        for ref in refs:
            mention = _CHANNEL_REF.match(ref)
            channel_id = parse_id(mention.group(1) if mention else ref)
            if channel_id is not None and channel_id in scope:
                chosen.add(channel_id)
            name = ref.removeprefix("#").casefold()
            chosen.update(c for c, n in scope.items() if n and n.casefold() == name)
        return chosen

    async def _query(
        self, scope: dict[Snowflake, str], parsed: ParsedQuery, filters: SearchFilters
    ) -> SearchQuery | None:
        """The index query, or None when the filters can match nothing."""
        channel_ids = set(scope)
        if parsed.in_channels:
            channel_ids &= self._named_channels(scope, parsed.in_channels)
        authors = list(filters.author_ids)
        if parsed.from_users:
            resolved = await self._users(parsed.from_users)
            if not resolved and not authors:
                return None
            authors += resolved
        mentioned = list(filters.mention_user_ids)
        if parsed.mentions:
            resolved = await self._users(parsed.mentions)
            if not resolved and not mentioned:
                return None
            mentioned += resolved
        pinned = filters.pinned
        if parsed.pinned is not None:
            if pinned is not None and pinned != parsed.pinned:
                return None
            pinned = parsed.pinned
        befores = [t for t in (filters.before, parsed.before) if t is not None]
        afters = [t for t in (filters.after, parsed.after) if t is not None]
        min_id = Snowflake(snowflake_at(max(afters)) - 1) if afters else None
        max_id = snowflake_at(min(befores)) if befores else None
        if not channel_ids or (min_id is not None and max_id is not None and min_id >= max_id):
            return None
        return SearchQuery(
            channel_ids=sorted(channel_ids),
            terms=parsed.terms,
            author_ids=sorted(set(authors)),
            mention_user_ids=sorted(set(mentioned)),
            has=filters.has | parsed.has,
            min_id=min_id,
            max_id=max_id,
            pinned=pinned,
            sort=filters.sort,
        )

    async def search(
        self,
        viewer: Viewer,
        filters: SearchFilters,
        *,
        guild_id: Snowflake | None = None,
        channel_id: Snowflake | None = None,
        direct_only: bool = False,
        limit: int = PAGE_DEFAULT,
        after_position: int | None = None,
    ) -> SearchPage:
        """A page of hits, newest first or best first. `after_position` is a hit's
        `position` from the page before (a message id when NEWEST, a rank when RELEVANCE)."""
        if not 1 <= limit <= PAGE_MAX:
            raise BadUserInput(f"first is 1 to {PAGE_MAX}", field="first")
        parsed = parse_query(filters.query)
        scope = await self._scope(
            viewer, guild_id=guild_id, channel_id=channel_id, direct_only=direct_only
        )
        query = await self._query(scope, parsed, filters)
        if query is None:
            return SearchPage()
        offset = 0
        if after_position is not None:
            if query.sort is Sort.NEWEST:
                bound = Snowflake(after_position)
                max_id = bound if query.max_id is None else min(query.max_id, bound)
                query = replace(query, max_id=max_id)
            else:
                if not 1 <= after_position <= OFFSET_MAX:
                    raise BadUserInput("not a cursor from this list", field="after")
                offset = after_position
        query = replace(query, limit=limit + 1, offset=offset)
        result = await self.index.search(query)
        candidates = result.message_ids[:limit]
        found = await asyncio.gather(*(self._messages.get(i) for i in candidates))
        hits: list[SearchHit] = []
        for rank, (message_id, message) in enumerate(zip(candidates, found, strict=True)):
            if message is None or message.channel_id not in scope:
                continue
            if query.pinned is not None and message.pinned != query.pinned:
                continue
            ranges = highlight(message.content, query.terms)
            if ranges is None:
                continue
            position = message_id if query.sort is Sort.NEWEST else offset + rank + 1
            hits.append(SearchHit(message, snippet_of(message.content, ranges), position))
        return SearchPage(hits=hits, total=result.total, has_next=len(result.message_ids) > limit)
