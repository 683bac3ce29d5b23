"""Engine construction and the per-dialect settings that make SQLite a good embedded store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry


@dataclass(frozen=True, slots=True)
class Engines:
    """Reads and writes may use different pools. On PostgreSQL both share one pool and reads
    run in autocommit (each statement its own snapshot, as under READ COMMITTED anyway, without
    a BEGIN and ROLLBACK round trip around it); on SQLite writes go through a single connection
    that takes the write lock at BEGIN, while reads use a pool of WAL readers that never wait
    for the writer."""

    read: AsyncEngine
    write: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    @property
    def autocommit(self) -> AsyncEngine:
        """PostgreSQL: the pool in autocommit, for reads and for changes made by a single
        statement (atomic on its own: no BEGIN and COMMIT round trips around it)."""
        if self.dialect != "postgresql":
            raise RuntimeError("autocommit writes are for PostgreSQL only")
        return self.read

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read.pool is not self.write.pool:
            await self.read.dispose()


class CountingPool(AsyncAdaptedQueuePool):
    """The async queue pool, counting the checkouts that found no idle connection and the time
    they took to get one (waiting for a connection to come back, or opening a new one), for
    /metrics: a pool too small for the load shows there before requests time out."""

    waits = 0
    wait_seconds = 0.0

    def _do_get(self) -> ConnectionPoolEntry:
        if self.checkedin() > 0:
            return super()._do_get()
        started = time.perf_counter()
        try:
            return super()._do_get()
        finally:
            self.waits += 1
            self.wait_seconds += time.perf_counter() - started


# Defaults of the GOCHAT_DATABASE_POOL_* settings (PostgreSQL).
POOL_SIZE = 20
POOL_TIMEOUT_SECONDS = 10.0


def create_engines(
    url: str, *, pool_size: int = POOL_SIZE, pool_timeout_seconds: float = POOL_TIMEOUT_SECONDS
) -> Engines:
    if url.startswith("sqlite"):
        write = create_async_engine(
            url, poolclass=CountingPool, pool_size=1, max_overflow=0, pool_timeout=60
        )
        event.listen(write.sync_engine, "connect", _sqlite_on_connect)
        event.listen(write.sync_engine, "begin", _sqlite_begin_immediate)
        read = create_async_engine(url, poolclass=CountingPool, pool_size=4, max_overflow=4)
        event.listen(read.sync_engine, "connect", _sqlite_on_connect)
        event.listen(read.sync_engine, "begin", _sqlite_begin_deferred)
        return Engines(read=read, write=write)
    # A fixed pool: connections beyond it would be opened and closed again under load (a new
    # backend and TLS attempt each time); requests wait up to the timeout for a free one, then
    # get UNAVAILABLE. No pre-ping (a round trip per checkout): a connection the server dropped
    # fails its statement, which invalidates the pool, and that one request gets UNAVAILABLE.
    engine = create_async_engine(
        url,
        poolclass=CountingPool,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout_seconds,
        pool_recycle=1800,
    )
    return Engines(read=engine.execution_options(isolation_level="AUTOCOMMIT"), write=engine)


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
