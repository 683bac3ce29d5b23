"""The one place that reads driver errors. SQLite and asyncpg word them differently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
    """Connection loss, and no pooled connection free within the pool timeout, become
    Unavailable; every other error propagates unchanged."""
    try:
        yield
    except PoolTimeout as exc:
        raise Unavailable("database busy: no connection became free in time") from exc
    except (OperationalError, InterfaceError) as exc:
        if _schema_mismatch(exc):
            # SQLite reports a missing table or column as an OperationalError too: that is a
            # bug or a broken migration (INTERNAL), not a database that may come back.
            raise
        raise Unavailable("database unavailable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("database connection lost") from exc
        raise


def _schema_mismatch(exc: DBAPIError) -> bool:
    text = str(exc.orig)
    return text.startswith(("no such table", "no such column"))
