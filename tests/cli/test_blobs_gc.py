"""`gochat tools blobs gc`: reports and removes blobs that no upload names, keeps files in use."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gochat.ids import GOCHAT_EPOCH_MS
from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.files import png, upload
from tests.support.guilds import make_world
from tests.support.server import run_server

SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { attachments { url } } } }"""


def gc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochat", "tools", "blobs", "gc", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


async def test_gc_reports_then_removes_orphans_and_keeps_used_files(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    settings = make_settings(database_url, data, file_sweep_interval_seconds=0)
    env = {
        "GOCHAT_DATABASE_URL": database_url,
        "GOCHAT_DATA_DIR": str(data),
        "GOCHAT_JWT_SECRET": settings.signing_secret(),
    }
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        w = await make_world(GraphQLClient(server.url, http))
        used = await upload(w.member, http, png(), content_type="image/png", channel_id=w.text_id)
        url = (await w.member.client.execute(SEND, {"c": w.text_id, "a": [used]})).ok()[
            "sendMessage"
        ]["message"]["attachments"][0]["url"]
        # What a crash between a blob write and its row's removal leaves behind.
        orphan = data / "blobs" / "data" / "uploads" / "123456789"
        orphan.write_bytes(b"left behind")
        # Data exports: one asked for 8 days ago (link expired), one today.
        exports = data / "blobs" / "data" / "exports" / w.member.id
        exports.mkdir(parents=True)
        old_id = (int((time.time() - 8 * 86400) * 1000) - GOCHAT_EPOCH_MS) << 22
        new_id = (int(time.time() * 1000) - GOCHAT_EPOCH_MS) << 22
        expired, fresh = exports / f"{old_id}.json", exports / f"{new_id}.json"
        expired.write_bytes(b"{}")
        fresh.write_bytes(b"{}")

        report = await asyncio.to_thread(gc, env, "--dry-run")
        assert report.returncode == 0, report.stderr
        assert "1 blobs without an upload" in report.stdout
        assert "orphan blob uploads/123456789" in report.stdout
        assert orphan.exists()
        assert "1 expired data exports" in report.stdout
        assert f"expired data export exports/{w.member.id}/{old_id}.json" in report.stdout
        assert expired.exists()

        done = await asyncio.to_thread(gc, env)
        assert done.returncode == 0, done.stderr
        assert "removed 0 uploads and 1 orphan blobs" in done.stdout
        assert not orphan.exists()
        assert "removed 1 expired data exports" in done.stdout
        assert not expired.exists()
        assert fresh.exists()
        assert (await http.get(url)).status_code == 200
