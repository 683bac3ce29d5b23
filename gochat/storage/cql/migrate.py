"""Versioned CQL migrations (gochat/migrations/cql/NNNN_name.cql), applied in order, once.

Processes started together on an empty keyspace take turns through a lease: a row written with
a lightweight transaction (INSERT ... IF NOT EXISTS) and a TTL, so a holder that dies frees it
by itself. The holder applies what is pending, renewing the lease between files, and deletes
the row (IF owner = itself) when done; a waiter retries the insert until it wins or the total
wait runs out, then finds the versions applied and has nothing left to do. Only the keyspace
and the two bookkeeping tables are created before the lease, with IF NOT EXISTS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import structlog
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

import gochat.migrations
from gochat.errors import Unavailable
from gochat.storage.cql import CqlSession

log = structlog.get_logger("gochat.migrate")

_Renew = Callable[[], Awaitable[None]]

CQL_DIR = Path(gochat.migrations.__file__).parent / "cql"
LEASE_NAME = "migrations"
# A holder renews after each file; a migration file takes seconds, not a minute.
LEASE_SECONDS = 60
# How long a waiter keeps trying before it gives up (longer than one lease: a dead holder's
# lease lapses within it).
WAIT_SECONDS = 180.0
_POLL_SECONDS = 0.5


def migration_files() -> list[Path]:
    return sorted(CQL_DIR.glob("[0-9][0-9][0-9][0-9]_*.cql"))


def statements(path: Path) -> list[str]:
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.strip().startswith("--")
    )
    return [s.strip() for s in text.split(";") if s.strip()]


async def upgrade(cql: CqlSession, *, wait_seconds: float = WAIT_SECONDS) -> list[str]:
    """Create the keyspace if needed and apply pending migrations; the versions applied here
    (none when another process applied them). Raises Unavailable when another process holds
    the lease for longer than `wait_seconds`."""
    ks = cql.target.keyspace
    await cql.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {cql.target.replication_factor}}}",
        prepared=False,
    )
    await cql.execute(
        f"CREATE TABLE IF NOT EXISTS {ks}.schema_migrations (version text PRIMARY KEY, applied_at timestamp)",
        prepared=False,
    )
    await cql.execute(
        f"CREATE TABLE IF NOT EXISTS {ks}.schema_migration_lease (name text PRIMARY KEY, owner text)",
        prepared=False,
    )
    applied = []
    async with _lease(cql, ks, wait_seconds=wait_seconds) as renew:
        rows = await cql.execute(
            SimpleStatement(
                f"SELECT version FROM {ks}.schema_migrations",
                consistency_level=ConsistencyLevel.QUORUM,
            )
        )
        done = {r.version for r in rows}
        for path in migration_files():
            version = path.stem
            if version in done:
                continue
            for statement in statements(path):
                if await _column_added_already(cql, ks, statement):
                    continue
                await cql.execute(_qualify(statement, ks), prepared=False)
            await cql.execute(
                SimpleStatement(
                    f"INSERT INTO {ks}.schema_migrations (version, applied_at) VALUES (%s, %s)",
                    consistency_level=ConsistencyLevel.QUORUM,
                ),
                (version, datetime.now(UTC)),
            )
            log.info("cql.migration_applied", version=version)
            applied.append(version)
            await renew()
    return applied


@asynccontextmanager
async def _lease(cql: CqlSession, ks: str, *, wait_seconds: float) -> AsyncIterator[_Renew]:
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    table = f"{ks}.schema_migration_lease"
    deadline = time.monotonic() + wait_seconds
    while True:
        taken = await cql.execute(
            f"INSERT INTO {table} (name, owner) VALUES (%s, %s) IF NOT EXISTS "
            f"USING TTL {LEASE_SECONDS}",
            (LEASE_NAME, owner),
            prepared=False,
        )
        if taken[0].applied:
            break
        holder = taken[0].owner
        if time.monotonic() > deadline:
            raise Unavailable(
                f"CQL migrations: {holder} held the lease for over {wait_seconds:g} s"
            )
        log.info("cql.migration_lease_wait", holder=holder)
        await asyncio.sleep(_POLL_SECONDS * random.uniform(0.5, 1.5))  # noqa: S311

    async def renew() -> None:
        kept = await cql.execute(
            f"UPDATE {table} USING TTL {LEASE_SECONDS} SET owner = %s "
            "WHERE name = %s IF owner = %s",
            (owner, LEASE_NAME, owner),
            prepared=False,
        )
        if not kept[0].applied:
            raise Unavailable("CQL migrations: the lease lapsed while migrating")

    try:
        yield renew
    finally:
        # A release that fails (the cluster went away) is covered by the TTL.
        with contextlib.suppress(Unavailable):
            await cql.execute(
                f"DELETE FROM {table} WHERE name = %s IF owner = %s",
                (LEASE_NAME, owner),
                prepared=False,
            )


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD (\w+) ", re.IGNORECASE)


async def _column_added_already(cql: CqlSession, keyspace: str, statement: str) -> bool:
    """`ALTER TABLE t ADD c ...` fails when c exists (a run that stopped within a file): such a
    statement is skipped then. Asked of system_schema, which Cassandra and ScyllaDB share."""
    match = _ADD_COLUMN.match(statement)
    if match is None:
        return False
    rows = await cql.execute(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s "
        "AND table_name = %s AND column_name = %s",
        (keyspace, match.group(1).lower(), match.group(2).lower()),
        prepared=False,
    )
    return bool(rows)


def _qualify(statement: str, keyspace: str) -> str:
    # Statements name bare tables; qualify them with the configured keyspace.
    for verb in ("CREATE TABLE IF NOT EXISTS ", "CREATE INDEX IF NOT EXISTS ", "ALTER TABLE "):
        if statement.startswith(verb):
            return statement.replace(verb, f"{verb}{keyspace}.", 1)
    return statement
