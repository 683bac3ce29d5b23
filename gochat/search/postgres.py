"""Search in the PostgreSQL database itself: a tsvector of the tokens of `gochat.search.text`
(the 'simple' configuration: no stemming, so every adapter matches the same words) with a GIN
index, and the filters beside it in search_documents (migration 0008).

A write replaces a row only when it brings a newer version (a conditional upsert), so
concurrent indexers never move a document back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import BindParameter, bindparam, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.errors import Unavailable
from gochat.ids import Snowflake
from gochat.search import (
    TOTAL_CAP,
    SearchDocument,
    SearchQuery,
    SearchRemoval,
    SearchResult,
    Sort,
    Term,
)
from gochat.search.text import index_text, is_cjk, tokens
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect


def tsquery(terms: Sequence[Term]) -> str | None:
    """The to_tsquery text: each term its tokens in a row (<->), all required; tokens hold
    letters and digits only, so quoting them is safe."""
    parts: list[str] = []
    for term in terms:
        found = tokens(term.text)
        if not found:
            continue
        prefix = term.prefix or (len(found) == 1 and is_cjk(found[0]) and len(found[0]) == 1)
        quoted = [f"'{t}'" for t in found]
        if prefix:
            quoted[-1] += ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " & ".join(parts) if parts else None


_UPSERT = text(
    "INSERT INTO search_documents (message_id, channel_id, guild_id, author_id, version, "
    "deleted, pinned, has_flags, mention_user_ids, body) VALUES (:id, :channel, :guild, "
    ":author, :version, :deleted, :pinned, :has, CAST(:mentions AS BIGINT[]), "
    "to_tsvector('simple', :body)) ON CONFLICT (message_id) DO UPDATE SET "
    "channel_id = EXCLUDED.channel_id, guild_id = EXCLUDED.guild_id, "
    "author_id = EXCLUDED.author_id, version = EXCLUDED.version, deleted = EXCLUDED.deleted, "
    "pinned = EXCLUDED.pinned, has_flags = EXCLUDED.has_flags, "
    "mention_user_ids = EXCLUDED.mention_user_ids, body = EXCLUDED.body "
    "WHERE search_documents.version < EXCLUDED.version"
)


def _latest(items: Sequence[Any]) -> list[Any]:
    newest: dict[Snowflake, Any] = {}
    for item in items:
        seen = newest.get(item.message_id)
        if seen is None or seen.version < item.version:
            newest[item.message_id] = item
    # One order for every writer: concurrent batches lock rows without deadlocking.
    return [newest[i] for i in sorted(newest)]


class PostgresSearchIndex:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    @asynccontextmanager
    async def _connection(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        try:
            engine = self._engines.write if write else self._engines.read
            async with unavailable_on_disconnect():
                if write:
                    async with engine.begin() as conn:
                        yield conn
                else:
                    async with engine.connect() as conn:
                        yield conn
        except SQLAlchemyError as exc:
            raise Unavailable("search index unreachable") from exc

    async def ping(self) -> None:
        async with self._connection(write=False) as conn:
            await conn.execute(text("SELECT 1 FROM search_documents LIMIT 1"))

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        rows = [
            {
                "id": d.message_id,
                "channel": d.channel_id,
                "guild": d.guild_id,
                "author": d.author_id,
                "version": d.version,
                "deleted": False,
                "pinned": d.pinned,
                "has": int(d.has),
                "mentions": list(dict.fromkeys(d.mention_user_ids)),
                "body": index_text(d.content),
            }
            for d in _latest(documents)
        ]
        async with self._connection(write=True) as conn:
            await conn.execute(_UPSERT, rows)

    async def delete(self, removals: Sequence[SearchRemoval]) -> None:
        if not removals:
            return
        rows = [
            {
                "id": r.message_id,
                "channel": r.channel_id,
                "guild": None,
                "author": 0,
                "version": r.version,
                "deleted": True,
                "pinned": False,
                "has": 0,
                "mentions": [],
                "body": "",
            }
            for r in _latest(removals)
        ]
        async with self._connection(write=True) as conn:
            await conn.execute(_UPSERT, rows)

    async def delete_channel(self, channel_id: Snowflake) -> None:
        async with self._connection(write=True) as conn:
            await conn.execute(
                text("DELETE FROM search_documents WHERE channel_id = :v"), {"v": channel_id}
            )

    async def delete_guild(self, guild_id: Snowflake) -> None:
        async with self._connection(write=True) as conn:
            await conn.execute(
                text("DELETE FROM search_documents WHERE guild_id = :v"), {"v": guild_id}
            )

    async def search(self, query: SearchQuery) -> SearchResult:
        if not query.channel_ids:
            return SearchResult()
        match = tsquery(query.terms)
        conditions = ["NOT d.deleted", "d.channel_id IN :channels"]
        params: dict[str, Any] = {"channels": list(dict.fromkeys(query.channel_ids))}
        expanding = ["channels"]
        if match is not None:
            conditions.append("d.body @@ to_tsquery('simple', :match)")
            params["match"] = match
        if query.author_ids:
            conditions.append("d.author_id IN :authors")
            params["authors"] = list(query.author_ids)
            expanding.append("authors")
        if query.mention_user_ids:
            conditions.append("d.mention_user_ids && CAST(:mentioned AS BIGINT[])")
            params["mentioned"] = list(query.mention_user_ids)
        if query.has:
            conditions.append("(d.has_flags & :has) = :has")
            params["has"] = int(query.has)
        if query.min_id is not None:
            conditions.append("d.message_id > :min_id")
            params["min_id"] = query.min_id
        if query.max_id is not None:
            conditions.append("d.message_id < :max_id")
            params["max_id"] = query.max_id
        if query.pinned is not None:
            conditions.append("d.pinned = :pinned")
            params["pinned"] = query.pinned
        where = " AND ".join(conditions)
        order = "d.message_id DESC"
        if query.sort is Sort.RELEVANCE and match is not None:
            order = "ts_rank(d.body, to_tsquery('simple', :match)) DESC, d.message_id DESC"
        binds: list[BindParameter[Any]] = [bindparam(name, expanding=True) for name in expanding]
        page = text(
            f"SELECT d.message_id FROM search_documents d WHERE {where} ORDER BY {order} "  # noqa: S608 - fixed text
            "LIMIT :limit OFFSET :offset"
        ).bindparams(*binds)
        counted = text(
            f"SELECT count(*) FROM (SELECT 1 FROM search_documents d WHERE {where} "  # noqa: S608
            "LIMIT :cap) AS matched"
        ).bindparams(*binds)
        async with self._connection(write=False) as conn:
            rows = await conn.execute(
                page, {**params, "limit": query.limit, "offset": query.offset}
            )
            ids = [Snowflake(int(r[0])) for r in rows]
            total = (await conn.execute(counted, {**params, "cap": TOTAL_CAP})).scalar_one()
        return SearchResult(message_ids=ids, total=int(total))

    async def count(self) -> int:
        async with self._connection(write=False) as conn:
            found = await conn.execute(
                text("SELECT count(*) FROM search_documents WHERE NOT deleted")
            )
            return int(found.scalar_one())

    async def begin_rebuild(self) -> bool:
        """The tables change only through migrations: a rebuild is always in place."""
        return False

    async def finish_rebuild(self) -> None:
        """Nothing to switch."""

    async def refresh(self) -> None:
        """Committed writes are visible at once."""

    async def close(self) -> None:
        """The relational store owns the engines."""
