"""The one place that reads driver errors. SQLite and asyncpg word them differently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from gochat.errors import Unavailable


def violated_unique(exc: IntegrityError, *columns: str) -> str | None:
    """The first of `columns` named by a unique violation, or None for another failure.

    SQLite says "UNIQUE constraint failed: users.email"; PostgreSQL names the constraint,
    which our naming convention spells uq_users_email.
    """
    text = str(exc.orig)
    if "UNIQUE" not in text.upper() and "duplicate key" not in text:
        return None
    for column in columns:
        if f".{column}" in text or f"_{column}" in text:
            return column
    return None


@asynccontextmanager
async def unavailable_on_disconnect() -> AsyncIterator[None]:
    """Connection loss becomes Unavailable; every other error propagates unchanged."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable("database unavailable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("database connection lost") from exc
        raise
