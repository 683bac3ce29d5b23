"""Apply, roll back and report alembic migrations on an open connection (both dialects)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import gochat.migrations

SCRIPT_LOCATION = str(Path(gochat.migrations.__file__).parent / "sql")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.connect() as conn:
        await conn.run_sync(lambda c: command.upgrade(_config(c), revision))
        await conn.commit()


async def downgrade(engine: AsyncEngine, steps: int) -> None:
    async with engine.connect() as conn:
        await conn.run_sync(lambda c: command.downgrade(_config(c), f"-{steps}"))
        await conn.commit()


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head() -> str | None:
    return ScriptDirectory(SCRIPT_LOCATION).get_current_head()
