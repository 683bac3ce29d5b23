"""Search in the SQLite database itself (the embedded default): FTS5 over the tokens of
`gochat.search.text`, with the filters in search_documents (migration 0008).

Writes hold SQLite's single write lock for the whole batch, so reading the stored versions
and then writing the newer documents cannot race another writer.
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
from gochat.search.text import is_cjk, tokens
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect


def match_expression(terms: Sequence[Term]) -> str | None:
    """The FTS5 query: each term a quoted phrase of its tokens (the tokens hold letters and
    digits only, so quoting is safe), all required."""
    parts: list[str] = []
    for term in terms:
        found = tokens(term.text)
        if not found:
            continue
        prefix = term.prefix or (len(found) == 1 and is_cjk(found[0]) and len(found[0]) == 1)
        parts.append('"' + " ".join(found) + '"' + (" *" if prefix else ""))
    return " AND ".join(parts) if parts else None


def _latest(items: Sequence[Any]) -> dict[Snowflake, Any]:
    newest: dict[Snowflake, Any] = {}
    for item in items:
        seen = newest.get(item.message_id)
        if seen is None or seen.version < item.version:
            newest[item.message_id] = item
    return newest


class SqliteSearchIndex:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise Unavailable("search index unreachable") from exc

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise Unavailable("search index unreachable") from exc

    async def ping(self) -> None:
        async with self._reading() as conn:
            await conn.execute(text("SELECT 1 FROM search_documents LIMIT 1"))

    async def _stored_versions(
        self, conn: AsyncConnection, ids: Sequence[Snowflake]
    ) -> dict[int, tuple[int, bool]]:
        rows = await conn.execute(
            text(
                "SELECT message_id, version, deleted FROM search_documents WHERE message_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": list(ids)},
        )
        return {int(r[0]): (int(r[1]), bool(r[2])) for r in rows}

    async def _clear(self, conn: AsyncConnection, live_ids: Sequence[int]) -> None:
        if not live_ids:
            return
        params = [{"id": i} for i in live_ids]
        await conn.execute(text("DELETE FROM search_text WHERE rowid = :id"), params)
        await conn.execute(text("DELETE FROM search_mentions WHERE message_id = :id"), params)

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        newest = _latest(documents)
        async with self._writing() as conn:
            stored = await self._stored_versions(conn, list(newest))
            winners = [d for i, d in newest.items() if i not in stored or stored[i][0] < d.version]
            if not winners:
                return
            await self._clear(
                conn,
                [
                    d.message_id
                    for d in winners
                    if d.message_id in stored and not stored[d.message_id][1]
                ],
            )
            await conn.execute(
                text(
                    "INSERT OR REPLACE INTO search_documents (message_id, channel_id, guild_id, "
                    "author_id, version, deleted, pinned, has_flags) VALUES (:id, :channel, "
                    ":guild, :author, :version, 0, :pinned, :has)"
                ),
                [
                    {
                        "id": d.message_id,
                        "channel": d.channel_id,
                        "guild": d.guild_id,
                        "author": d.author_id,
                        "version": d.version,
                        "pinned": d.pinned,
                        "has": int(d.has),
                    }
                    for d in winners
                ],
            )
            await conn.execute(
                text("INSERT INTO search_text (rowid, body) VALUES (:id, :body)"),
                [{"id": d.message_id, "body": " ".join(tokens(d.content))} for d in winners],
            )
            mentions = [
                {"user": u, "id": d.message_id}
                for d in winners
                for u in dict.fromkeys(d.mention_user_ids)
            ]
            if mentions:
                await conn.execute(
                    text("INSERT INTO search_mentions (user_id, message_id) VALUES (:user, :id)"),
                    mentions,
                )

    async def delete(self, removals: Sequence[SearchRemoval]) -> None:
        if not removals:
            return
        newest = _latest(removals)
        async with self._writing() as conn:
            stored = await self._stored_versions(conn, list(newest))
            winners = [r for i, r in newest.items() if i not in stored or stored[i][0] < r.version]
            if not winners:
                return
            await self._clear(
                conn,
                [
                    r.message_id
                    for r in winners
                    if r.message_id in stored and not stored[r.message_id][1]
                ],
            )
            await conn.execute(
                text(
                    "INSERT OR REPLACE INTO search_documents (message_id, channel_id, guild_id, "
                    "author_id, version, deleted, pinned, has_flags) VALUES (:id, :channel, "
                    "NULL, 0, :version, 1, 0, 0)"
                ),
                [
                    {"id": r.message_id, "channel": r.channel_id, "version": r.version}
                    for r in winners
                ],
            )

    async def _delete_matching(self, selected: str, value: int) -> None:
        """Delete the documents whose ids `selected` (fixed SQL with :v) returns."""
        async with self._writing() as conn:
            ids = [int(r[0]) for r in await conn.execute(text(selected), {"v": value})]
            if not ids:
                return
            await self._clear(conn, ids)
            await conn.execute(
                text("DELETE FROM search_documents WHERE message_id = :id"),
                [{"id": i} for i in ids],
            )

    async def delete_channel(self, channel_id: Snowflake) -> None:
        await self._delete_matching(
            "SELECT message_id FROM search_documents WHERE channel_id = :v", channel_id
        )

    async def delete_guild(self, guild_id: Snowflake) -> None:
        await self._delete_matching(
            "SELECT message_id FROM search_documents WHERE guild_id = :v", guild_id
        )

    async def search(self, query: SearchQuery) -> SearchResult:
        if not query.channel_ids:
            return SearchResult()
        match = match_expression(query.terms)
        conditions = ["d.deleted = 0", "d.channel_id IN :channels"]
        params: dict[str, Any] = {"channels": list(dict.fromkeys(query.channel_ids))}
        expanding = ["channels"]
        source = "search_documents d"
        order = "d.message_id DESC"
        if match is not None:
            # The full-text match drives (CROSS JOIN keeps it the outer loop, in rowid order),
            # and each match finds its row by message id: unary + keeps SQLite from probing
            # the channel index once per allowed channel instead.
            source = "search_text CROSS JOIN search_documents d ON d.message_id = search_text.rowid"
            conditions[1] = "+d.channel_id IN :channels"
            conditions.append("search_text MATCH :match")
            params["match"] = match
            order = "search_text.rowid DESC"
        if query.author_ids:
            conditions.append("d.author_id IN :authors")
            params["authors"] = list(query.author_ids)
            expanding.append("authors")
        if query.mention_user_ids:
            conditions.append(
                "d.message_id IN "
                "(SELECT message_id FROM search_mentions WHERE user_id IN :mentioned)"
            )
            params["mentioned"] = list(query.mention_user_ids)
            expanding.append("mentioned")
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
        if query.sort is Sort.RELEVANCE and match is not None:
            order = "bm25(search_text), d.message_id DESC"
        binds: list[BindParameter[Any]] = [bindparam(name, expanding=True) for name in expanding]
        page = text(
            f"SELECT d.message_id FROM {source} WHERE {where} ORDER BY {order} "  # noqa: S608 - fixed text
            "LIMIT :limit OFFSET :offset"
        ).bindparams(*binds)
        counted = text(
            f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT :cap)"  # noqa: S608
        ).bindparams(*binds)
        async with self._reading() as conn:
            rows = await conn.execute(
                page, {**params, "limit": query.limit, "offset": query.offset}
            )
            ids = [Snowflake(int(r[0])) for r in rows]
            total = (await conn.execute(counted, {**params, "cap": TOTAL_CAP})).scalar_one()
        return SearchResult(message_ids=ids, total=int(total))

    async def count(self) -> int:
        async with self._reading() as conn:
            found = await conn.execute(
                text("SELECT count(*) FROM search_documents WHERE deleted = 0")
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
