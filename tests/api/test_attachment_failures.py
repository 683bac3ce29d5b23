"""Attachments when time or the store fails: an expired slot, and S3 unreachable at send."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.engines import seaweedfs_server
from tests.support.files import create_slot, put_bytes, slot_of, upload
from tests.support.guilds import World, make_world
from tests.support.server import run_server

SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id } } }"""
COUNT = """query($c: ID!) { channel(id: $c) { ... on TextChannel { messages(last: 50) {
  edges { node { id } } } } } }"""


async def count(w: World) -> int:
    data = (await w.member.client.execute(COUNT, {"c": w.text_id})).ok()
    return len(data["channel"]["messages"]["edges"])


async def test_an_expired_slot_can_neither_be_filled_nor_used(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", upload_slot_ttl_seconds=3)
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        w = await make_world(GraphQLClient(server.url, http))
        before = await count(w)
        made = await create_slot(
            w.member, filename="a", size=7, content_type="text/plain", channel_id=w.text_id
        )
        filled = slot_of(made)
        assert (await put_bytes(http, filled, b"in time")).status_code == 204
        filled_expiry = datetime.fromisoformat(made.ok()["createUpload"]["slot"]["expiresAt"])
        late = slot_of(
            await create_slot(
                w.member, filename="a", size=4, content_type="text/plain", channel_id=w.text_id
            )
        )
        expiry = datetime.fromtimestamp(int(late.url.split("expires=")[1].split("&")[0]), UTC)
        # Wait for the condition: both slots' expiry passed.
        while datetime.now(UTC) <= max(expiry, filled_expiry):
            await asyncio.sleep(0.1)
        assert (await put_bytes(http, late, b"late")).status_code == 403
        (await w.member.client.execute(SEND, {"c": w.text_id, "a": [filled.id]})).error(
            "BAD_USER_INPUT"
        )
        assert await count(w) == before


async def test_s3_unreachable_is_unavailable_and_stores_no_message(
    database_url: str, tmp_path: Path
) -> None:
    with seaweedfs_server() as s3:
        settings = make_settings(
            database_url, tmp_path / "data", blobs_url=s3.url("unreachable-test")
        )
        async with run_server(settings) as server, httpx.AsyncClient(timeout=60) as http:
            w = await make_world(GraphQLClient(server.url, http))
            before = await count(w)
            upload_id = await upload(w.member, http, b"hello", channel_id=w.text_id)
            s3.stop()
            result = await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})
            result.error("UNAVAILABLE")
            assert await count(w) == before
