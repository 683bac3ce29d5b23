"""A server imports only the drivers its configuration uses: the scale adapters' clients
(Cassandra, NATS, Redis, OpenSearch, S3, etcd) and the SFU's media stack cost tens of megabytes
each, resident for the life of every process that imported them.

Each case starts the application as `gochat serve` does (the CLI module, the app factory, its
lifespan: services, workers, the embedded SFU) in a fresh interpreter and reads which packages
that interpreter holds in `sys.modules`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.engines import NatsServer, RedisServer

# Generous: a fresh interpreter imports the whole application on a possibly busy machine.
pytestmark = pytest.mark.timeout(180)

SCALE_DRIVERS = {
    "cassandra",
    "nats",
    "redis",
    "opensearchpy",
    "aioboto3",
    "aiobotocore",
    "boto3",
    "botocore",
    "aetcd",
    "grpc",
}
MEDIA = {"aiortc", "aioice", "av", "PIL", "selectolax"}

PROBE = """
import asyncio, json, sys
import gochat.cli
from gochat.app import create_app
from gochat.config import Settings

async def start_and_stop() -> None:
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        pass

asyncio.run(start_and_stop())
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def imported_after_start(data_dir: Path, **settings: str) -> set[str]:
    """The top-level packages a process holds once the app has started (and stopped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
    env.update(
        {"GOCHAT_DATA_DIR": str(data_dir), "GOCHAT_LOG_LEVEL": "warning"},
        **{f"GOCHAT_{name.upper()}": value for name, value in settings.items()},
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_embedded_server_imports_no_scale_driver_and_no_media_stack(tmp_path: Path) -> None:
    # The embedded SFU serves voice on the API's port; aiortc loads with its first member.
    imported = imported_after_start(tmp_path)
    assert "gochat" in imported and "aiosqlite" in imported
    assert imported & (SCALE_DRIVERS | MEDIA) == set()


def test_a_server_on_postgresql_imports_no_other_engines_driver(
    tmp_path: Path, postgres_database: str
) -> None:
    imported = imported_after_start(tmp_path, database_url=postgres_database)
    assert "asyncpg" in imported
    assert imported & (SCALE_DRIVERS | MEDIA) == set()


def test_a_server_on_nats_and_redis_imports_their_clients_and_no_others(
    tmp_path: Path, postgres_database: str, nats_engine: NatsServer, redis_engine: RedisServer
) -> None:
    imported = imported_after_start(
        tmp_path,
        database_url=postgres_database,
        bus_url=nats_engine.url,
        redis_url=redis_engine.url,
    )
    assert {"nats", "redis"} <= imported
    assert imported & (SCALE_DRIVERS - {"nats", "redis"} | MEDIA) == set()


def test_a_restart_on_a_migrated_database_leaves_alembic_out(tmp_path: Path) -> None:
    assert "alembic" in imported_after_start(tmp_path)  # the first start migrates
    assert "alembic" not in imported_after_start(tmp_path)
