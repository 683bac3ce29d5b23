"""Apply, roll back and report alembic migrations on an open connection (both dialects).

Processes started together on one PostgreSQL database (a rolling deploy, several `gochat serve`
with GOCHAT_MIGRATE_ON_START) take turns through a session-level advisory lock: the first
migrates, the others then find the schema at head and do nothing. Without it two of them both
see no `alembic_version` table and the second dies creating it. SQLite needs no lock: every
write transaction there takes the database's write lock first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import gochat.migrations

SCRIPT_LOCATION = str(Path(gochat.migrations.__file__).parent / "sql")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


# pg_advisory_lock key of GoChat's migrations (any constant other programs on the same
# database are unlikely to pick: the first 8 bytes of "gochat-m" as a signed bigint).
MIGRATION_LOCK_KEY = int.from_bytes(b"gochat-m", "big", signed=True)


@asynccontextmanager
async def _migrating(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection that holds the migration lock (PostgreSQL) until the block ends."""
    async with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            yield conn
            return
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        # The lock belongs to the session, not the transaction: end this one so alembic
        # starts from a clean connection.
        await conn.commit()
        try:
            yield conn
        finally:
            try:
                await conn.rollback()
                unlock = text("SELECT pg_advisory_unlock(:key)")
                await conn.execute(unlock, {"key": MIGRATION_LOCK_KEY})
                await conn.commit()
            except (SQLAlchemyError, OSError):
                # Closing the session releases its lock; a pooled connection would keep it.
                await conn.invalidate()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with _migrating(engine) as conn:
        await conn.run_sync(lambda c: command.upgrade(_config(c), revision))
        await conn.commit()


async def downgrade(engine: AsyncEngine, steps: int) -> None:
    async with _migrating(engine) as conn:
        await conn.run_sync(lambda c: command.downgrade(_config(c), f"-{steps}"))
        await conn.commit()


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head() -> str | None:
    return ScriptDirectory(SCRIPT_LOCATION).get_current_head()
