"""The blob port: where uploaded files live, by key.

Keys are chosen by the server (never from a file name): lowercase path segments of letters,
digits, `_`, `-` and `.`, joined by `/`, without empty, `.` or `..` segments (`check_key`).
Adapters: a directory on local disk (embedded) and S3 (scale). Bytes move as streams of chunks,
never whole in memory. Uploads from clients go straight to the store where it can take them
(`direct_upload`: a presigned PUT on S3, with the size and type bound into the signature); the
local adapter has none, and the API serves its own upload endpoint instead.

Contract for every adapter:
- `put` stores the whole stream under the key or nothing: a stream that passes `max_bytes`
  raises `BlobTooLarge` and leaves no object (and no partial object) behind.
- `delete` is idempotent; deleting a missing key is not an error.
- A missing key is `None` from `head` and `NotFound` from `read`.
- An unreachable store raises `Unavailable` (retryable), never a driver exception.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gochat.errors import BadUserInput

_SEGMENT = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,127}$")
MAX_KEY_LENGTH = 512


class BlobTooLarge(BadUserInput):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than {max_bytes} bytes", field="size")
        self.max_bytes = max_bytes


def check_key(key: str) -> str:
    """The key, or ValueError: keys come from the server, so a bad one is a bug."""
    segments = key.split("/")
    if len(key) > MAX_KEY_LENGTH or not all(
        _SEGMENT.match(s) and s not in {".", ".."} and not s.endswith(".") for s in segments
    ):
        raise ValueError(f"not a blob key: {key[:80]!r}")
    return key


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True)
class DirectUpload:
    """A request the client makes itself: `method` to `url` with exactly `headers`."""

    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    expires_at: datetime


class BlobStore(Protocol):
    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str, max_bytes: int
    ) -> BlobInfo:
        """Store the stream under `key` (replacing what was there); all or nothing."""
        ...

    async def head(self, key: str) -> BlobInfo | None:
        """Size and type of the object, or None when there is none."""
        ...

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from `start` up to and excluding `end` (the whole object by default), as
        chunks. NotFound when there is no object."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""
        ...

    def keys(self, prefix: str = "") -> AsyncIterator[str]:
        """The key of every object whose key starts with `prefix` (for garbage collection)."""
        ...

    async def direct_upload(
        self, key: str, *, size: int, content_type: str, expires_in_seconds: int
    ) -> DirectUpload | None:
        """A request that puts exactly `size` bytes of `content_type` at `key` without going
        through GoChat, or None when this store takes uploads only through `put`."""
        ...

    async def download_url(
        self,
        key: str,
        *,
        expires_in_seconds: int,
        filename: str,
        inline: bool,
        content_type: str | None = None,
    ) -> str | None:
        """A short-lived URL that serves the object straight from the store (with
        `content_type` instead of the stored type when given), or None when the API must
        serve it."""
        ...

    async def close(self) -> None: ...
