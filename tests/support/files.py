"""File helpers: upload slots through GraphQL, bodies through HTTP, and test images."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from tests.support.client import Result
from tests.support.factories import SignedUpUser

CREATE_UPLOAD = """mutation($i: CreateUploadInput!) { createUpload(input: $i) {
  slot { id url method headers { name value } expiresAt } } }"""

ATTACHMENT_FIELDS = "id filename originalFilename contentType size width height url previewUrl"


@dataclass
class Slot:
    id: str
    url: str
    method: str
    headers: dict[str, str]


async def create_slot(
    user: SignedUpUser,
    *,
    filename: str,
    size: int,
    content_type: str,
    purpose: str = "ATTACHMENT",
    channel_id: str | None = None,
    guild_id: str | None = None,
) -> Result:
    variables: dict[str, Any] = {
        "purpose": purpose,
        "filename": filename,
        "size": size,
        "contentType": content_type,
    }
    if channel_id is not None:
        variables["channelId"] = channel_id
    if guild_id is not None:
        variables["guildId"] = guild_id
    return await user.client.execute(CREATE_UPLOAD, {"i": variables})


def slot_of(result: Result) -> Slot:
    slot = result.ok()["createUpload"]["slot"]
    return Slot(
        id=slot["id"],
        url=slot["url"],
        method=slot["method"],
        headers={h["name"]: h["value"] for h in slot["headers"]},
    )


async def put_bytes(
    http: httpx.AsyncClient, slot: Slot, body: bytes, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    sent = dict(slot.headers if headers is None else headers)
    sent.pop("Content-Length", None)  # httpx sends the body's own length
    return await http.request(slot.method, slot.url, content=body, headers=sent)


async def upload(
    user: SignedUpUser,
    http: httpx.AsyncClient,
    body: bytes,
    *,
    filename: str = "file.bin",
    content_type: str = "application/octet-stream",
    purpose: str = "ATTACHMENT",
    channel_id: str | None = None,
    guild_id: str | None = None,
) -> str:
    """A filled slot's id."""
    slot = slot_of(
        await create_slot(
            user,
            filename=filename,
            size=len(body),
            content_type=content_type,
            purpose=purpose,
            channel_id=channel_id,
            guild_id=guild_id,
        )
    )
    response = await put_bytes(http, slot, body)
    assert response.status_code in {200, 204}, response.text
    return slot.id


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


def animated_gif(width: int = 32, height: int = 32) -> bytes:
    frames = [Image.new("RGB", (width, height), (i * 60, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int, *, rows: int = 1) -> bytes:
    """A grayscale PNG whose header claims `width` x `height`; its data inflates to `rows` full
    rows of zeros (all of them: a decompression bomb that is small on disk)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )
