"""Apply, roll back and report alembic migrations on an open connection (both dialects).

Processes started together on one PostgreSQL database (a rolling deploy, several `gochat serve`
with GOCHAT_MIGRATE_ON_START) take turns through a session-level advisory lock: the first
migrates, the others then find the schema at head and do nothing. Without it two of them both
see no `alembic_version` table and the second dies creating it. SQLite needs no lock: every
write transaction there takes the database's write lock first.

A process that finds the database at head (every start but the first after an upgrade) does
not import alembic at all: the head comes from the version scripts' text, the current revision
from `alembic_version`. Alembic and its templates stay out of a serving process's memory.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import gochat.migrations

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = str(Path(gochat.migrations.__file__).parent / "sql")
VERSION_TABLE = "alembic_version"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*=\s*(.+?)\s*$", re.MULTILINE)


def _config(connection: Connection) -> Config:
    from alembic.config import Config  # noqa: PLC0415

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
    if revision == "head" and await _at_head(engine):
        return
    from alembic import command  # noqa: PLC0415

    async with _migrating(engine) as conn:
        await conn.run_sync(lambda c: command.upgrade(_config(c), revision))
        await conn.commit()


async def downgrade(engine: AsyncEngine, steps: int) -> None:
    from alembic import command  # noqa: PLC0415

    async with _migrating(engine) as conn:
        await conn.run_sync(lambda c: command.downgrade(_config(c), f"-{steps}"))
        await conn.commit()


async def current(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head() -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory(SCRIPT_LOCATION).get_current_head()


@functools.cache
def scripted_head() -> str | None:
    """The head revision read from the version scripts' `revision` and `down_revision` lines,
    without alembic; None unless the scripts make one line of revisions with one head (then
    alembic decides)."""
    revises: dict[str, str | None] = {}
    for script in (Path(SCRIPT_LOCATION) / "versions").glob("*.py"):
        found = dict(_ASSIGNMENT.findall(script.read_text()))
        if "revision" not in found or "down_revision" not in found:
            return None
        name, down = found["revision"].strip("\"'"), found["down_revision"].strip("\"'")
        revises[name] = None if down == "None" else down
    heads = set(revises) - {down for down in revises.values() if down is not None}
    return heads.pop() if len(heads) == 1 else None


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the database is already at the scripts' head (read without the lock: a
    revision is written in the same transaction as its changes)."""
    target = scripted_head()
    if target is None:
        return False
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda c: inspect(c).has_table(VERSION_TABLE)):
            return False
        rows = await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
        return [row[0] for row in rows] == [target]
