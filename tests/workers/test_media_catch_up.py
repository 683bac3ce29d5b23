"""The media worker finishes after a restart what a crash left undone: a used image without a
preview gets one when the server starts again."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.files import jpeg, upload
from tests.support.guilds import make_world
from tests.support.server import run_server

SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id } } }"""
PREVIEW = "query($id: ID!) { message(id: $id) { attachments { previewUrl } } }"


async def preview_url(client: GraphQLClient, token: str, message_id: str) -> str | None:
    data = (await client.execute(PREVIEW, {"id": message_id}, token=token)).ok()
    found: str | None = data["message"]["attachments"][0]["previewUrl"]
    return found


async def test_a_preview_lost_in_a_crash_is_made_at_the_next_start(tmp_path: Path) -> None:
    database = tmp_path / "gochat.db"
    settings = make_settings(f"sqlite:///{database}", tmp_path / "data")
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server.url, http)
        w = await make_world(client)
        upload_id = await upload(
            w.member, http, jpeg(), content_type="image/jpeg", channel_id=w.text_id
        )
        message_id = (await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})).ok()[
            "sendMessage"
        ]["message"]["id"]
        async with asyncio.timeout(20):
            while await preview_url(client, w.member.token, message_id) is None:
                await asyncio.sleep(0.05)
    # As if the process had died after the use committed and before the preview was stored.
    with sqlite3.connect(database) as db:
        db.execute("UPDATE uploads SET preview_key = NULL WHERE id = ?", (int(upload_id),))
    for leftover in (tmp_path / "data" / "blobs" / "data" / "previews").iterdir():
        leftover.unlink()
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server.url, http)
        async with asyncio.timeout(20):
            while (url := await preview_url(client, w.member.token, message_id)) is None:
                await asyncio.sleep(0.05)
        fetched = await http.get(url)
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == "image/webp"
