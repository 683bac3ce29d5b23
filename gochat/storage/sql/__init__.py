"""The SQL adapter: SQLite (embedded) and PostgreSQL through SQLAlchemy Core, one code path.

Dialect differences stay inside this package: engine options, conflict clauses and the mapping
of driver errors to GoChat's vocabulary.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gochat.errors import Unavailable
from gochat.storage import PoolFigures
from gochat.storage.sql.accounts import SqlAccountStore
from gochat.storage.sql.direct import SqlDirectStore
from gochat.storage.sql.engine import (
    POOL_SIZE,
    POOL_TIMEOUT_SECONDS,
    CountingPool,
    Engines,
    create_engines,
)
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.files import SqlFileStore
from gochat.storage.sql.guilds import SqlGuildStore
from gochat.storage.sql.jobs import SqlJobStore
from gochat.storage.sql.messages import SqlMessageStore
from gochat.storage.sql.outbox import SqlOutboxStore
from gochat.storage.sql.sessions import SqlSessionStore
from gochat.storage.sql.tasks import SqlTaskStore


class SqlRelationalStore:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self.accounts = SqlAccountStore(engines)
        self.sessions = SqlSessionStore(engines)
        self.outbox = SqlOutboxStore(engines)
        self.guilds = SqlGuildStore(engines)
        self.messages = SqlMessageStore(engines)
        self.direct = SqlDirectStore(engines)
        self.files = SqlFileStore(engines)
        self.jobs = SqlJobStore(engines)
        self.tasks = SqlTaskStore(engines)

    def pool_figures(self) -> list[PoolFigures]:
        figures = []
        pools = {"write": self.engines.write.pool, "read": self.engines.read.pool}
        for role, pool in pools.items():
            if role == "read" and pool is pools["write"]:
                continue
            if isinstance(pool, CountingPool):
                figures.append(
                    PoolFigures(
                        role,
                        pool.checkedout(),
                        max(0, pool.overflow()),
                        pool.waits,
                        pool.wait_seconds,
                    )
                )
        return figures

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        pool_timeout_seconds: float = POOL_TIMEOUT_SECONDS,
    ) -> SqlRelationalStore:
        return cls(
            create_engines(url, pool_size=pool_size, pool_timeout_seconds=pool_timeout_seconds)
        )

    async def ping(self) -> None:
        try:
            async with unavailable_on_disconnect(), self.engines.read.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise Unavailable("database unreachable") from exc

    async def close(self) -> None:
        await self.engines.dispose()
