"""Attachments beyond one blob store: an expired slot, S3 unreachable at send, and messages on
Cassandra whose attachments live in SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.engines import seaweedfs_server
from tests.support.files import create_slot, png, put_bytes, slot_of, upload
from tests.support.guilds import World, make_world
from tests.support.server import run_server

SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id } } }"""
SEND_ONCE = """mutation($c: ID!, $a: [ID!], $n: String) {
  sendMessage(input: {channelId: $c, attachments: $a, nonce: $n}) { created message { id } } }"""
MESSAGE = """query($id: ID!) { message(id: $id) { attachments { id width url } } }"""


async def send(w: World, upload_id: str, nonce: str) -> Any:
    return await w.member.client.execute(SEND_ONCE, {"c": w.text_id, "a": [upload_id], "n": nonce})


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


async def test_attachments_of_messages_on_cassandra_live_in_sql_and_retries_claim_once(
    database_url: str, tmp_path: Path, cassandra_url: str
) -> None:
    settings = make_settings(database_url, tmp_path / "cql-data", messages_url=cassandra_url)
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        w = await make_world(GraphQLClient(server.url, http))
        upload_id = await upload(
            w.member, http, png(), content_type="image/png", channel_id=w.text_id
        )
        first = (await send(w, upload_id, "cql-1")).ok()["sendMessage"]
        retry = (await send(w, upload_id, "cql-1")).ok()["sendMessage"]
        assert retry["created"] is False
        assert retry["message"]["id"] == first["message"]["id"]
        (await send(w, upload_id, "cql-2")).error("CONFLICT")
        again = (await w.owner.client.execute(MESSAGE, {"id": first["message"]["id"]})).ok()
        [attachment] = again["message"]["attachments"]
        assert (attachment["id"], attachment["width"]) == (upload_id, 64)
        assert (await http.get(attachment["url"])).status_code == 200
