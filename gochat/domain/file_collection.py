"""Collecting files nobody uses any more: their blobs, then their rows.

An upload is dead when its slot expired unused, when it was an attachment of a message that no
longer exists (or of none: a send that claimed it and never stored its message), or when it
was an avatar, icon, banner or emoji image that is no longer one (replaced, or its emoji,
guild or user gone). A pass re-checks the present for every upload it looks at, deletes the
blobs first (the file and its previews; deleting a missing blob is not an error) and the row
last, so a pass cut short by a crash is simply finished by the next one: collection is
idempotent and needs no record of its own. An attachment claimed within the last
`claim_grace_seconds` is left alone: its send may still be between the claim and storing (or
binding) its message, and a retry of it claims it again. Deleting an owner therefore removes
its files asynchronously: the next pass finds them (a change that frees files wakes the
in-process sweeper at once). `orphan_keys` finds blobs that no row names (left by a crash
between a blob write and its row's removal) for `gochat tools blobs gc`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gochat.blobs import BlobStore
from gochat.domain.records import Upload, UploadPurpose
from gochat.ids import Snowflake
from gochat.storage import FileStore, MessageStore

PAGE = 500
PREFIXES = ("uploads/", "previews/")


@dataclass(frozen=True, slots=True)
class PassReport:
    looked_at: int
    dead: list[Upload]


class FileCollector:
    def __init__(
        self,
        files: FileStore,
        blobs: BlobStore,
        messages: MessageStore,
        *,
        claim_grace_seconds: float,
    ) -> None:
        self._files = files
        self._blobs = blobs
        self._messages = messages
        self._grace = timedelta(seconds=claim_grace_seconds)

    async def dead_among(self, uploads: Sequence[Upload], *, now: datetime) -> list[Upload]:
        images = [
            u for u in uploads if u.claim is not None and u.purpose != UploadPurpose.ATTACHMENT
        ]
        referenced = await self._files.referenced_images([u.id for u in images])
        dead = []
        for upload in uploads:
            if upload.claim is None:
                if upload.expires_at <= now:
                    dead.append(upload)
            elif upload.purpose == UploadPurpose.ATTACHMENT:
                if upload.claimed_at is not None and upload.claimed_at > now - self._grace:
                    continue
                if upload.message_id is None or await self._messages.get(upload.message_id) is None:
                    dead.append(upload)
            elif upload.id not in referenced:
                dead.append(upload)
        return dead

    async def remove(self, upload: Upload) -> None:
        """Delete an upload's blobs, then its row; safe to repeat."""
        for key in (upload.key, *preview_keys(upload)):
            await self._blobs.delete(key)
        await self._files.delete_upload(upload.id)

    async def pages(self) -> AsyncIterator[list[Upload]]:
        after = Snowflake(0)
        while True:
            page = await self._files.scan(after_id=after, limit=PAGE)
            if not page:
                return
            yield page
            after = page[-1].id

    async def sweep(self, *, now: datetime) -> int:
        """One pass over every upload; the number removed."""
        removed = 0
        async for page in self.pages():
            for upload in await self.dead_among(page, now=now):
                await self.remove(upload)
                removed += 1
        return removed

    async def orphan_keys(self) -> AsyncIterator[str]:
        """Blob keys under the file prefixes that belong to no upload row."""
        for prefix in PREFIXES:
            batch: list[tuple[str, Snowflake]] = []
            async for key in self._blobs.keys(prefix):
                batch.append((key, _upload_id_of(key)))
                if len(batch) >= PAGE:
                    for orphan in await self._orphans(batch):
                        yield orphan
                    batch = []
            for orphan in await self._orphans(batch):
                yield orphan

    async def _orphans(self, batch: list[tuple[str, Snowflake]]) -> list[str]:
        known = await self._files.get_uploads([i for _, i in batch if i])
        return [key for key, upload_id in batch if upload_id not in known]


def preview_keys(upload: Upload) -> tuple[str, ...]:
    """Every preview key the media worker may have written for this upload."""
    return tuple(f"previews/{upload.id}{suffix}.webp" for suffix in ("", "-96", "-44"))


def _upload_id_of(key: str) -> Snowflake:
    """The upload id a file key was made from; 0 for a key that names none."""
    name = key.rsplit("/", 1)[-1].split(".", 1)[0].split("-", 1)[0]
    return Snowflake(int(name)) if name.isdigit() else Snowflake(0)
