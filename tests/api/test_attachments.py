"""Attachments end to end: upload slots through GraphQL, bytes through HTTP (the embedded
endpoint, or presigned PUTs to a real SeaweedFS), use by sendMessage, and reading back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.files import (
    ATTACHMENT_FIELDS,
    create_slot,
    jpeg,
    png,
    png_claiming,
    put_bytes,
    slot_of,
    upload,
)
from tests.support.guilds import World, make_world

SEND = f"""mutation($c: ID!, $t: String!, $a: [ID!], $n: String) {{
  sendMessage(input: {{channelId: $c, content: $t, attachments: $a, nonce: $n}}) {{
    created message {{ id content attachments {{ {ATTACHMENT_FIELDS} }} }} }} }}"""
HISTORY = f"""query($c: ID!) {{ channel(id: $c) {{ ... on TextChannel {{ messages(last: 50) {{
  edges {{ node {{ id attachments {{ {ATTACHMENT_FIELDS} }} }} }} }} }} }} }}"""
MESSAGE = f"""query($id: ID!) {{ message(id: $id) {{ id content attachments {{ {ATTACHMENT_FIELDS} }} }} }}"""


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend() -> str:
    # The blob adapter is what varies here; the SQL side runs on SQLite (the migration itself
    # is covered on PostgreSQL by the template database every PostgreSQL test builds).
    return "sqlite"


@pytest.fixture
def settings_overrides(blobs: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if blobs == "s3":
        engine = request.getfixturevalue("seaweedfs_engine")
        return {"blobs_url": engine.url(f"t{uuid.uuid4().hex[:16]}")}
    return {}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def send(
    w: World, attachments: list[str], *, content: str = "", nonce: str | None = None
) -> Any:
    return await w.member.client.execute(
        SEND, {"c": w.text_id, "t": content, "a": attachments, "n": nonce}
    )


async def message_count(w: World) -> int:
    data = (await w.member.client.execute(HISTORY, {"c": w.text_id})).ok()
    return len(data["channel"]["messages"]["edges"])


async def test_an_uploaded_image_becomes_an_attachment_with_its_real_facts(
    client: GraphQLClient, http: httpx.AsyncClient, blobs: str
) -> None:
    w = await make_world(client)
    body = png(64, 48)
    upload_id = await upload(
        w.member, http, body, filename="cat.png", content_type="image/png", channel_id=w.text_id
    )
    sent = (await send(w, [upload_id])).ok()["sendMessage"]
    assert sent["created"] is True
    assert sent["message"]["content"] == ""
    [attachment] = sent["message"]["attachments"]
    assert attachment["id"] == upload_id
    assert attachment["filename"] == "cat.png"
    assert attachment["contentType"] == "image/png"
    assert (attachment["size"], attachment["width"], attachment["height"]) == (len(body), 64, 48)
    fetched = await http.get(attachment["url"])
    assert fetched.status_code == 200
    assert fetched.content == body
    assert fetched.headers["content-type"].startswith("image/png")
    if blobs == "local":
        assert fetched.headers["x-content-type-options"] == "nosniff"
    # Read back, through a query, by someone else in the channel.
    again = (await w.owner.client.execute(MESSAGE, {"id": sent["message"]["id"]})).ok()
    assert [a["id"] for a in again["message"]["attachments"]] == [upload_id]


async def test_retry_with_same_nonce_claims_the_uploads_once(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    before = await message_count(w)
    upload_id = await upload(
        w.member, http, b"hello", filename="a.txt", content_type="text/plain", channel_id=w.text_id
    )
    first = (await send(w, [upload_id], nonce="n-1")).ok()["sendMessage"]
    retry = (await send(w, [upload_id], nonce="n-1")).ok()["sendMessage"]
    assert retry["created"] is False
    assert retry["message"]["id"] == first["message"]["id"]
    assert [a["id"] for a in retry["message"]["attachments"]] == [upload_id]
    (await send(w, [upload_id], nonce="n-2")).error("CONFLICT")
    (await send(w, [upload_id])).error("CONFLICT")
    assert await message_count(w) == before + 1


async def test_another_users_upload_is_not_found(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    before = await message_count(w)
    upload_id = await upload(w.owner, http, b"mine", filename="a.bin", channel_id=w.text_id)
    (await send(w, [upload_id])).error("NOT_FOUND")
    (await send(w, ["123456789"])).error("NOT_FOUND")
    assert await message_count(w) == before


async def test_a_slot_needs_access_to_the_channel(client: GraphQLClient) -> None:
    w = await make_world(client)
    (
        await create_slot(
            w.outsider, filename="a.bin", size=3, content_type="text/plain", channel_id=w.text_id
        )
    ).error("NOT_FOUND")
    (
        await create_slot(
            w.member,
            filename="icon.png",
            size=3,
            content_type="image/png",
            purpose="GUILD_ICON",
            guild_id=w.guild_id,
        )
    ).error("FORBIDDEN")
    (
        await create_slot(
            w.member,
            filename="a.bin",
            size=26 << 20,
            content_type="text/plain",
            channel_id=w.text_id,
        )
    ).error("BAD_USER_INPUT")


async def test_non_media_files_download_and_ranges_are_answered(
    client: GraphQLClient, http: httpx.AsyncClient, blobs: str
) -> None:
    w = await make_world(client)
    body = b"<html><script>alert(1)</script></html>"
    upload_id = await upload(
        w.member, http, body, filename="page.html", content_type="text/html", channel_id=w.text_id
    )
    [attachment] = (await send(w, [upload_id])).ok()["sendMessage"]["message"]["attachments"]
    assert attachment["contentType"] == "application/octet-stream"
    fetched = await http.get(attachment["url"])
    assert fetched.content == body
    assert fetched.headers["content-disposition"].startswith("attachment")
    assert "html" not in fetched.headers["content-type"]
    ranged = await http.get(attachment["url"], headers={"range": "bytes=6-13"})
    assert ranged.status_code == 206
    assert ranged.content == body[6:14]
    if blobs == "local":
        assert fetched.headers["x-content-type-options"] == "nosniff"
        assert ranged.headers["content-range"] == f"bytes 6-13/{len(body)}"
        tampered = attachment["url"].replace("application%2Foctet-stream", "text%2Fhtml")
        assert (await http.get(tampered)).status_code == 403


async def test_a_polyglot_jpeg_is_served_as_an_image_never_as_html(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    body = jpeg(32, 32) + b"<html><script>alert(document.cookie)</script></html>"
    upload_id = await upload(
        w.member, http, body, filename="x.html", content_type="text/html", channel_id=w.text_id
    )
    # The bytes are a JPEG: declared as HTML, the type is refused.
    (await send(w, [upload_id])).error("BAD_USER_INPUT")
    upload_id = await upload(
        w.member, http, body, filename="x.jpg", content_type="image/jpeg", channel_id=w.text_id
    )
    [attachment] = (await send(w, [upload_id])).ok()["sendMessage"]["message"]["attachments"]
    fetched = await http.get(attachment["url"])
    assert fetched.headers["content-type"] == "image/jpeg"
    assert "html" not in fetched.headers["content-type"]


async def test_file_names_are_sanitized_and_the_original_is_shown(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    names = {
        "../../etc/passwd": "passwd",
        "..\\..\\boot.ini": "boot.ini",
        "evil\u202egpj.exe": "evilgpj.exe",
        "bell\x07\nname.txt": "bellname.txt",
        "...": "file",
    }
    for original, sanitized in names.items():
        upload_id = await upload(w.member, http, b"data", filename=original, channel_id=w.text_id)
        [attachment] = (await send(w, [upload_id])).ok()["sendMessage"]["message"]["attachments"]
        assert (attachment["filename"], attachment["originalFilename"]) == (sanitized, original)


async def test_a_lying_content_type_is_refused_and_nothing_is_kept(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    before = await message_count(w)
    pdf = b"%PDF-1.4\n" + b"x" * 100
    upload_id = await upload(
        w.member, http, pdf, filename="cat.png", content_type="image/png", channel_id=w.text_id
    )
    error = (await send(w, [upload_id], content="look")).error("BAD_USER_INPUT")
    assert "application/pdf" in error["message"]
    # The refused upload is gone: using it again finds nothing.
    (await send(w, [upload_id], content="look")).error("NOT_FOUND")
    assert await message_count(w) == before


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("truncated", png(300, 300)[:-200]),
        ("pixel flood", b""),
        ("decompression bomb", b""),
    ],
)
async def test_bad_images_are_refused(
    client: GraphQLClient, http: httpx.AsyncClient, name: str, body: bytes
) -> None:
    if name == "pixel flood":
        body = png_claiming(20_000, 20_000)
    elif name == "decompression bomb":
        body = png_claiming(12_000, 12_000, rows=12_000)
    w = await make_world(client)
    before = await message_count(w)
    upload_id = await upload(
        w.member, http, body, filename="x.png", content_type="image/png", channel_id=w.text_id
    )
    (await send(w, [upload_id])).error("BAD_USER_INPUT")
    assert await message_count(w) == before


async def test_declared_size_must_match_the_bytes(
    client: GraphQLClient, http: httpx.AsyncClient, blobs: str
) -> None:
    w = await make_world(client)
    for sent in (b"0123456789" * 3, b"01234"):
        slot = slot_of(
            await create_slot(
                w.member, filename="a.bin", size=10, content_type="text/plain", channel_id=w.text_id
            )
        )
        response = await put_bytes(http, slot, sent)
        assert response.status_code in {400, 403}, response.text
        # Nothing was kept: the slot has no file to use.
        (await send(w, [slot.id])).error("BAD_USER_INPUT")


async def test_a_body_growing_past_the_declared_size_is_cut_off(
    client: GraphQLClient, http: httpx.AsyncClient, blobs: str
) -> None:
    w = await make_world(client)
    slot = slot_of(
        await create_slot(
            w.member,
            filename="a.bin",
            size=1 << 20,
            content_type="text/plain",
            channel_id=w.text_id,
        )
    )

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB, no Content-Length: chunked
            yield b"x" * (64 << 10)

    headers = {"Content-Type": "text/plain"}
    response = await http.put(slot.url, content=endless(), headers=headers)
    (await send(w, [slot.id])).error("BAD_USER_INPUT")
    if blobs == "s3":
        # The signature binds the length: S3 itself refuses the body.
        assert response.status_code == 403
        return
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    tampered = slot.url.replace("signature=", "signature=0")
    assert (await http.put(tampered, content=b"x", headers=headers)).status_code == 403


async def test_open_slots_are_limited_per_user(
    client: GraphQLClient, server: Any, blobs: str
) -> None:
    w = await make_world(client)
    limit = server.settings.upload_max_open_slots
    for _ in range(limit):
        (
            await create_slot(
                w.member, filename="a", size=1, content_type="text/plain", channel_id=w.text_id
            )
        ).ok()
    (
        await create_slot(
            w.member, filename="a", size=1, content_type="text/plain", channel_id=w.text_id
        )
    ).error("RATE_LIMITED")
