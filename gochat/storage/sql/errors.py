"""The one place that reads driver errors. SQLite and asyncpg word them differently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gochat.errors import BadUserInput, Unavailable

# PostgreSQL's character_not_in_repertoire (NUL in text) and untranslatable_character.
_BAD_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


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


# SQLSTATEs of a server that is going away, starting, or out of room: the request may succeed
# once it is back. 08xxx connection exceptions; 53xxx insufficient resources (53300 too many
# connections); 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting
# up or shutting down).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53")
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


@asynccontextmanager
async def unavailable_on_disconnect() -> AsyncIterator[None]:
    """Whatever says the database is unreachable, going away or saturated becomes Unavailable
    (retryable); text the database cannot store (a lone surrogate, NUL on PostgreSQL) becomes
    BadUserInput; every other error propagates unchanged.

    The driver does not wrap everything: a refused or reset connection while the pool opens
    one surfaces as a bare OSError, and asyncpg's errors raised during connect (57P03 while
    the server shuts down) arrive as a plain DBAPIError, known only by their SQLSTATE.
    """
    try:
        yield
    except UnicodeEncodeError as exc:
        raise BadUserInput("text must be valid Unicode without NUL characters") from exc
    except PoolTimeout as exc:
        raise Unavailable("database busy: no connection became free in time") from exc
    except (OperationalError, InterfaceError) as exc:
        if _schema_mismatch(exc):
            # SQLite reports a missing table or column as an OperationalError too: that is a
            # bug or a broken migration (INTERNAL), not a database that may come back.
            raise
        raise Unavailable("database unavailable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated or unavailable_sqlstate(exc.orig):
            raise Unavailable("database connection lost") from exc
        if _bad_text(exc):
            raise BadUserInput("text must be valid Unicode without NUL characters") from exc
        raise
    except OSError as exc:  # ConnectionRefusedError, ConnectionResetError, TimeoutError
        raise Unavailable("database unreachable") from exc
    except Exception as exc:
        if unavailable_sqlstate(exc):  # a driver error SQLAlchemy did not wrap
            raise Unavailable("database unavailable") from exc
        raise


def unavailable_sqlstate(error: BaseException | None) -> bool:
    """True when `error` (a driver exception) carries a SQLSTATE meaning "try again later"."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if not isinstance(state, str):
        return False
    return state in _UNAVAILABLE_SQLSTATES or state.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)


def _bad_text(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _BAD_TEXT_SQLSTATES:
        return True
    # asyncpg refuses text it cannot encode before sending it, as a DataError caused by the
    # UnicodeEncodeError.
    cause: BaseException | None = exc.orig
    while cause is not None:
        if isinstance(cause, UnicodeEncodeError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _schema_mismatch(exc: DBAPIError) -> bool:
    text = str(exc.orig)
    return text.startswith(("no such table", "no such column"))
