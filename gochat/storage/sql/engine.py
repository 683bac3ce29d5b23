"""Engine construction and the per-dialect settings that make SQLite a good embedded store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@dataclass(frozen=True, slots=True)
class Engines:
    """Reads and writes may use different pools. On PostgreSQL both are the same engine; on
    SQLite writes go through a single connection that takes the write lock at BEGIN, while
    reads use a pool of WAL readers that never wait for the writer."""

    read: AsyncEngine
    write: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


def create_engines(url: str) -> Engines:
    if url.startswith("sqlite"):
        write = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(write.sync_engine, "connect", _sqlite_on_connect)
        event.listen(write.sync_engine, "begin", _sqlite_begin_immediate)
        read = create_async_engine(url, pool_size=4, max_overflow=4)
        event.listen(read.sync_engine, "connect", _sqlite_on_connect)
        event.listen(read.sync_engine, "begin", _sqlite_begin_deferred)
        return Engines(read=read, write=write)
    engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    return Engines(read=engine, write=engine)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite so BEGIN is issued by the listeners below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # The write lock up front: a transaction that reads then writes never fails halfway with
    # SQLITE_BUSY because another process became the writer in between.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")
