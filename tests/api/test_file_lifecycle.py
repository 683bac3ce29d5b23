"""Files go when nothing uses them: a deleted message's attachments, a replaced avatar, and
slots never used, removed by the sweeper without anyone asking; on both blob stores."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.files import create_slot, png, put_bytes, slot_of, upload
from tests.support.guilds import make_world
from tests.support.server import run_server

SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id attachments { url } } } }"""
DELETE = "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }"
PROFILE = (
    """mutation($a: ID) { updateProfile(input: {avatarUploadId: $a}) { user { avatarUrl } } }"""
)


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings_overrides(blobs: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    # A short grace: the files of a message deleted right after it was sent go a second later.
    values: dict[str, Any] = {"file_claim_grace_seconds": 1, "file_sweep_interval_seconds": 0.2}
    if blobs == "s3":
        engine = request.getfixturevalue("seaweedfs_engine")
        values["blobs_url"] = engine.url(f"t{uuid.uuid4().hex[:16]}")
    return values


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as client:
        yield client


async def until_gone(http: httpx.AsyncClient, url: str) -> None:
    async with asyncio.timeout(20):
        while (await http.get(url)).status_code != 404:
            await asyncio.sleep(0.05)


async def test_deleting_a_message_removes_its_files(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    upload_id = await upload(w.member, http, png(), content_type="image/png", channel_id=w.text_id)
    message = (await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})).ok()[
        "sendMessage"
    ]["message"]
    url = message["attachments"][0]["url"]
    assert (await http.get(url)).status_code == 200
    (await w.member.client.execute(DELETE, {"m": message["id"]})).ok()
    await until_gone(http, url)


async def test_a_replaced_avatar_is_removed(client: GraphQLClient, http: httpx.AsyncClient) -> None:
    w = await make_world(client)
    first = await upload(w.member, http, png(), content_type="image/png", purpose="AVATAR")
    old = (await w.member.client.execute(PROFILE, {"a": first})).ok()["updateProfile"]["user"]
    assert (await http.get(old["avatarUrl"])).status_code == 200
    second = await upload(
        w.member, http, png(color=(0, 0, 9)), content_type="image/png", purpose="AVATAR"
    )
    new = (await w.member.client.execute(PROFILE, {"a": second})).ok()["updateProfile"]["user"]
    await until_gone(http, old["avatarUrl"])
    assert (await http.get(new["avatarUrl"])).status_code == 200


async def test_slots_never_used_are_removed_after_expiry(
    database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", **{**settings_overrides, "upload_slot_ttl_seconds": 3}
    )
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        w = await make_world(GraphQLClient(server.url, http))
        made = await create_slot(
            w.member, filename="a", size=10, content_type="text/plain", channel_id=w.text_id
        )
        slot = slot_of(made)
        assert (await put_bytes(http, slot, b"never used")).status_code in {200, 204}
        upload_id = slot.id
        expiry = datetime.fromisoformat(made.ok()["createUpload"]["slot"]["expiresAt"])
        async with asyncio.timeout(20):
            while datetime.now(UTC) <= expiry:  # not used in time
                await asyncio.sleep(0.05)
            while True:
                result = await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})
                if result.codes == ["NOT_FOUND"]:
                    break
                assert result.codes == ["BAD_USER_INPUT"], result.body  # expired, not yet removed
                await asyncio.sleep(0.1)
