"""`gochat migrate up | down N | current` on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from gochat.storage.sql.migrate import head, scripted_head


def gochat(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
    env["GOCHAT_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "gochat", "migrate", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
async def empty_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    admin: str = request.getfixturevalue("postgres_admin_url")
    name = f"m_{os.urandom(6).hex()}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return admin.rsplit("/", 1)[0] + f"/{name}"


def test_migrate_up_down_and_current(empty_database: str, tmp_path: Path) -> None:
    current = gochat("current", database_url=empty_database, cwd=tmp_path)
    assert current.returncode == 0 and f"current: none; head: {head()}" in current.stdout
    up = gochat("up", database_url=empty_database, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert f"at revision {head()}" in up.stdout
    down = gochat("down", "1", database_url=empty_database, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert f"at revision {head()}" not in down.stdout
    again = gochat("up", database_url=empty_database, cwd=tmp_path)
    assert f"at revision {head()}" in again.stdout


def test_down_without_steps_is_a_usage_error(tmp_path: Path) -> None:
    result = gochat("down", database_url=f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "down needs a number of steps" in result.stderr


CONCURRENT_MIGRATIONS = 4


def start_migrate(database_url: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
    env["GOCHAT_DATABASE_URL"] = database_url
    return subprocess.Popen(
        [sys.executable, "-m", "gochat", "migrate", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_processes_migrating_one_empty_database_together_all_succeed(
    empty_database: str, tmp_path: Path
) -> None:
    processes = [start_migrate(empty_database, tmp_path) for _ in range(CONCURRENT_MIGRATIONS)]
    outcomes = [p.communicate(timeout=120) for p in processes]
    for process, (out, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, err
        assert f"at revision {head()}" in out
    conn = await asyncpg.connect(empty_database)
    try:
        versions = await conn.fetch("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()
    assert [row["version_num"] for row in versions] == [head()]


# The first test of a session to use Cassandra waits for the node to start.
@pytest.mark.timeout(300)
async def test_processes_migrating_one_empty_keyspace_together_apply_each_version_once(
    cassandra_url: str, tmp_path: Path
) -> None:
    from gochat.storage.cql import CqlSession, parse_url
    from gochat.storage.cql.migrate import migration_files

    keyspace = f"m_{os.urandom(6).hex()}"
    messages_url = cassandra_url.rsplit("/", 1)[0] + f"/{keyspace}"
    processes = []
    for n in range(CONCURRENT_MIGRATIONS):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
        env["GOCHAT_DATABASE_URL"] = f"sqlite:///{tmp_path / f'{n}.db'}"
        env["GOCHAT_MESSAGES_URL"] = messages_url
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gochat", "migrate", "up"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                cwd=tmp_path,
            )
        )
    outputs = [p.communicate(timeout=240)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "message store (CQL) migrated" in output
    versions = [path.stem for path in migration_files()]
    applied = [
        line.split("version=")[1].split()[0]
        for output in outputs
        for line in output.splitlines()
        if "cql.migration_applied" in line
    ]
    assert sorted(applied) == sorted(versions), outputs

    session = CqlSession(parse_url(messages_url))
    await session.connect()
    try:
        rows = await session.execute(f"SELECT version FROM {keyspace}.schema_migrations")
        lease = await session.execute(f"SELECT owner FROM {keyspace}.schema_migration_lease")
    finally:
        await session.close()
    assert sorted(r.version for r in rows) == sorted(versions)
    assert lease == []


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    # A serving process skips alembic when the database is at this head.
    assert scripted_head() is not None
    assert scripted_head() == head()
