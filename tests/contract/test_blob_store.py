"""The blob port's contract, on every adapter: a directory on local disk, and S3 on a real
S3-compatible server that checks signatures (SeaweedFS)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gochat.blobs import BlobStore, BlobTooLarge, check_key
from gochat.blobs.local import LocalBlobStore
from gochat.blobs.s3 import S3BlobStore, parse_url
from gochat.errors import NotFound, Unavailable
from tests.support.engines import free_port

MiB = 1 << 20


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    server = request.getfixturevalue("seaweedfs_engine")
    s3 = await S3BlobStore.connect(server.url(f"gochat-{uuid.uuid4().hex[:12]}"))
    try:
        yield s3
    finally:
        await s3.close()


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _read(store: BlobStore, key: str, **span: int) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, **span)])


def _key(name: str = "file.bin") -> str:
    return f"attachments/{uuid.uuid4().hex}/{name}"


async def test_a_put_object_reads_back_whole_and_by_range(store: BlobStore) -> None:
    key = _key()
    info = await store.put(
        key, _chunks(b"hello ", b"world"), content_type="text/plain", max_bytes=100
    )
    assert (info.size, info.content_type) == (11, "text/plain")
    assert await store.head(key) == info
    assert await _read(store, key) == b"hello world"
    assert await _read(store, key, start=6) == b"world"
    assert await _read(store, key, start=2, end=5) == b"llo"
    assert await _read(store, key, start=11) == b""


async def test_a_large_stream_is_stored_in_parts_and_intact(store: BlobStore) -> None:
    key = _key()
    parts = [bytes([i]) * (3 * MiB + 17) for i in range(7)]  # 21 MiB: several S3 parts
    info = await store.put(key, _chunks(*parts), content_type="video/mp4", max_bytes=64 * MiB)
    assert info.size == sum(map(len, parts))
    assert await _read(store, key) == b"".join(parts)


async def test_a_stream_past_the_cap_leaves_nothing(store: BlobStore) -> None:
    key = _key()
    parts = [b"x" * (3 * MiB)] * 4  # 12 MiB against a 10 MiB cap, past the first S3 part
    with pytest.raises(BlobTooLarge) as refused:
        await store.put(key, _chunks(*parts), content_type="image/png", max_bytes=10 * MiB)
    assert refused.value.code == "BAD_USER_INPUT"
    assert await store.head(key) is None
    assert [k async for k in store.keys(key)] == []


async def test_a_failing_stream_leaves_nothing(store: BlobStore) -> None:
    key = _key()

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * (9 * MiB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put(key, broken(), content_type="image/png", max_bytes=64 * MiB)
    assert await store.head(key) is None


async def test_a_put_replaces_and_delete_is_idempotent(store: BlobStore) -> None:
    key = _key()
    await store.put(key, _chunks(b"one"), content_type="text/plain", max_bytes=10)
    await store.put(key, _chunks(b"second"), content_type="image/gif", max_bytes=10)
    assert await _read(store, key) == b"second"
    assert (await store.head(key)).content_type == "image/gif"  # type: ignore[union-attr]
    await store.delete(key)
    await store.delete(key)
    assert await store.head(key) is None
    with pytest.raises(NotFound):
        await _read(store, key)


async def test_keys_lists_by_prefix(store: BlobStore) -> None:
    prefix = f"emoji/{uuid.uuid4().hex}/"
    for name in ["b.webp", "a.webp", "c/d.webp"]:
        await store.put(prefix + name, _chunks(b"z"), content_type="image/webp", max_bytes=1)
    assert sorted([k async for k in store.keys(prefix)]) == [
        prefix + "a.webp",
        prefix + "b.webp",
        prefix + "c/d.webp",
    ]


@pytest.mark.parametrize(
    "bad", ["../etc/passwd", "a/../../b", "/abs", "a//b", "A/B", "a/b/", "a/.", "x" * 600, "a\x00b"]
)
def test_keys_that_could_escape_or_confuse_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_key(bad)


async def test_a_direct_upload_binds_size_and_type(store: BlobStore) -> None:
    key = _key("photo.png")
    upload = await store.direct_upload(key, size=5, content_type="image/png", expires_in_seconds=60)
    if upload is None:
        assert isinstance(store, LocalBlobStore)  # the API serves its own upload endpoint
        return
    assert upload.method == "PUT"
    headers = dict(upload.headers)
    async with httpx.AsyncClient() as http:
        wrong_type = await http.put(
            upload.url, content=b"12345", headers={**headers, "Content-Type": "text/html"}
        )
        longer = await http.put(
            upload.url, content=b"123456", headers={"Content-Type": "image/png"}
        )
        tampered = await http.put(
            upload.url.replace("X-Amz-Signature=", "X-Amz-Signature=0"),
            content=b"12345",
            headers=headers,
        )
        assert (wrong_type.status_code, longer.status_code, tampered.status_code) == (403, 403, 403)
        assert await store.head(key) is None
        done = await http.put(upload.url, content=b"12345", headers=headers)
        assert done.status_code == 200
    assert await store.head(key) is not None
    assert await _read(store, key) == b"12345"


async def test_a_download_url_serves_the_object_as_a_download(store: BlobStore) -> None:
    key = _key("report.html")
    await store.put(key, _chunks(b"<h1>hi</h1>"), content_type="text/html", max_bytes=100)
    url = await store.download_url(
        key, expires_in_seconds=60, filename="report é.html", inline=False
    )
    if url is None:
        assert isinstance(store, LocalBlobStore)  # the API serves it
        return
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
        assert got.status_code == 200 and got.content == b"<h1>hi</h1>"
        assert got.headers["content-disposition"].startswith("attachment;")
        forged = await http.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        assert forged.status_code == 403


async def test_an_unreachable_s3_is_unavailable() -> None:
    # Nothing listens on this port: every call must fail as Unavailable, and soon.
    url = f"s3://k:s@gochat-nowhere?endpoint=http://127.0.0.1:{free_port()}"
    with pytest.raises(Unavailable):
        await S3BlobStore.connect(url)
    store = await S3BlobStore.connect(url, create_bucket=False)
    try:
        with pytest.raises(Unavailable):
            await store.head("a/b")
        with pytest.raises(Unavailable):
            await store.put("a/b", _chunks(b"x"), content_type="text/plain", max_bytes=10)
        with pytest.raises(Unavailable):
            await _read(store, "a/b")
    finally:
        await store.close()


def test_s3_urls_name_bucket_endpoint_region_style_and_credentials() -> None:
    where = parse_url("s3://AK:S%2Fx@files?endpoint=http://h:9000&region=eu-west-1")
    assert (where.bucket, where.endpoint_url, where.region, where.addressing_style) == (
        "files",
        "http://h:9000",
        "eu-west-1",
        "path",
    )
    assert (where.access_key, where.secret_key) == ("AK", "S/x")
    aws = parse_url("s3://files")
    assert (aws.endpoint_url, aws.addressing_style, aws.access_key) == (None, "virtual", None)
    assert parse_url("s3://files?endpoint=http://h&style=virtual").addressing_style == "virtual"
    for bad in ["http://files", "s3://", "s3://files?style=sideways"]:
        with pytest.raises(ValueError):
            parse_url(bad)
