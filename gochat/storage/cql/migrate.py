"""Versioned CQL migrations (gochat/migrations/cql/NNNN_name.cql), applied in order, once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import gochat.migrations
from gochat.storage.cql import CqlSession

CQL_DIR = Path(gochat.migrations.__file__).parent / "cql"


def migration_files() -> list[Path]:
    return sorted(CQL_DIR.glob("[0-9][0-9][0-9][0-9]_*.cql"))


def statements(path: Path) -> list[str]:
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.strip().startswith("--")
    )
    return [s.strip() for s in text.split(";") if s.strip()]


async def upgrade(cql: CqlSession) -> list[str]:
    """Create the keyspace if needed and apply pending migrations; the versions applied."""
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
    rows = await cql.execute(f"SELECT version FROM {ks}.schema_migrations", prepared=False)
    done = {r.version for r in rows}
    applied = []
    for path in migration_files():
        version = path.stem
        if version in done:
            continue
        for statement in statements(path):
            await cql.execute(_qualify(statement, ks), prepared=False)
        await cql.execute(
            f"INSERT INTO {ks}.schema_migrations (version, applied_at) VALUES (%s, %s)",
            (version, datetime.now(UTC)),
            prepared=False,
        )
        applied.append(version)
    return applied


def _qualify(statement: str, keyspace: str) -> str:
    # Statements name bare tables; qualify them with the configured keyspace.
    for verb in ("CREATE TABLE IF NOT EXISTS ", "CREATE INDEX IF NOT EXISTS "):
        if statement.startswith(verb):
            return statement.replace(verb, f"{verb}{keyspace}.", 1)
    return statement
