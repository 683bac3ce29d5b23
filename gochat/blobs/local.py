"""Blobs in a directory on local disk: the embedded default.

Layout under the root: `data/<key>` holds the bytes, `types/<key>` the content type, `tmp/`
uploads in progress. A put writes to `tmp/`, syncs, then renames into place, so a reader never
sees half a file and a crash leaves only a temporary file, which the next start removes. File
I/O runs in worker threads, a chunk at a time, so a large file never blocks the event loop or
sits whole in memory.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from gochat.blobs import BlobInfo, BlobTooLarge, DirectUpload, check_key
from gochat.errors import NotFound

READ_CHUNK_BYTES = 1 << 20
DEFAULT_TYPE = "application/octet-stream"
# Temporary files older than this at start-up belong to uploads that a crash interrupted.
STALE_UPLOAD_SECONDS = 3600


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self._data = root / "data"
        self._types = root / "types"
        self._tmp = root / "tmp"
        for directory in (self._data, self._types, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - STALE_UPLOAD_SECONDS
        for leftover in self._tmp.iterdir():
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str, max_bytes: int
    ) -> BlobInfo:
        target = self._data / check_key(key)
        tmp = self._tmp / uuid.uuid4().hex
        file = await asyncio.to_thread(tmp.open, "wb")
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(_sync_and_close, file)
            await asyncio.to_thread(self._commit, key, tmp, target, content_type)
        except BaseException:
            file.close()
            tmp.unlink(missing_ok=True)
            raise
        return BlobInfo(key=key, size=size, content_type=content_type)

    def _commit(self, key: str, tmp: Path, target: Path, content_type: str) -> None:
        kind = self._types / key
        kind.parent.mkdir(parents=True, exist_ok=True)
        kind.write_text(content_type, encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    async def head(self, key: str) -> BlobInfo | None:
        return await asyncio.to_thread(self._head, check_key(key))

    def _head(self, key: str) -> BlobInfo | None:
        try:
            size = (self._data / key).stat().st_size
        except FileNotFoundError:
            return None
        try:
            content_type = (self._types / key).read_text(encoding="utf-8")
        except FileNotFoundError:
            content_type = DEFAULT_TYPE
        return BlobInfo(key=key, size=size, content_type=content_type)

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self._data / check_key(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound("no such file") from None
        try:
            await asyncio.to_thread(file.seek, start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                want = READ_CHUNK_BYTES if remaining is None else min(READ_CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(file.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        check_key(key)
        await asyncio.to_thread((self._data / key).unlink, missing_ok=True)
        await asyncio.to_thread((self._types / key).unlink, missing_ok=True)

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        found = await asyncio.to_thread(self._walk)
        for key in found:
            if key.startswith(prefix):
                yield key

    def _walk(self) -> list[str]:
        keys = []
        for folder, _, files in os.walk(self._data):
            relative = Path(folder).relative_to(self._data)
            keys += [(relative / name).as_posix().removeprefix("./") for name in files]
        return sorted(keys)

    async def direct_upload(
        self, key: str, *, size: int, content_type: str, expires_in_seconds: int
    ) -> DirectUpload | None:
        return None

    async def download_url(
        self,
        key: str,
        *,
        expires_in_seconds: int,
        filename: str,
        inline: bool,
        content_type: str | None = None,
    ) -> str | None:
        return None

    async def close(self) -> None:
        return None


def _sync_and_close(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()
