"""The media worker: WebP previews of used images, made off the request path.

It handles the events that put an image to use (a message with attachments, a new avatar,
icon, banner or emoji) from the worker runner's durable source.

Attachments get one preview at most 350 px on a side, avatars and guild icons 128 px, banners
960 px, emoji 96 and 44 px (animated emoji stay animated). Previews are new images made from
the pixels alone, so EXIF and GPS metadata never reach what is served. When an attachment's
preview is stored, its message is published again as MessageUpdated, so live clients get the
`previewUrl` without a refetch; that event is written to the outbox with the preview, so it is
never lost. For each upload the handler re-reads it and skips it when its preview exists
already (idempotent), when it is gone, or when it is not an image.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import IO

import structlog

from gochat import media
from gochat.blobs import BlobStore
from gochat.bus import Envelope, subjects
from gochat.bus.codec import seal
from gochat.domain.events import (
    EmojiCreated,
    Event,
    GuildUpdated,
    MessageCreated,
    MessageUpdated,
    UserUpdated,
)
from gochat.domain.publisher import EventPublisher
from gochat.domain.records import Upload, UploadPurpose
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.storage import FileStore, MessageStore

log = structlog.get_logger("gochat.workers.media")

# (suffix, longest side) of each preview, by purpose; the first one's key is recorded.
VARIANTS: dict[UploadPurpose, tuple[tuple[str, int], ...]] = {
    UploadPurpose.ATTACHMENT: (("", 350),),
    UploadPurpose.AVATAR: (("", 128),),
    UploadPurpose.GUILD_ICON: (("", 128),),
    UploadPurpose.GUILD_BANNER: (("", 960),),
    UploadPurpose.EMOJI: (("-96", 96), ("-44", 44)),
}
PREVIEW_MAX_BYTES = 32 << 20


class MediaHandler:
    name = "media"
    event_types = frozenset(
        cls.TYPE for cls in (MessageCreated, UserUpdated, GuildUpdated, EmojiCreated)
    )
    batch_size = 16

    def __init__(
        self,
        files: FileStore,
        blobs: BlobStore,
        messages: MessageStore,
        publisher: EventPublisher,
        ids: SnowflakeGenerator,
    ) -> None:
        self._files = files
        self._blobs = blobs
        self._messages = messages
        self._publisher = publisher
        self._ids = ids

    def wants(self, event: Event) -> bool:
        return not isinstance(event, MessageCreated) or bool(event.attachment_ids)

    async def handle(self, events: Sequence[Event]) -> None:
        for upload_id in await self._uploads_used_by(events):
            await self.make_preview(upload_id)

    async def _uploads_used_by(self, events: Sequence[Event]) -> list[Snowflake]:
        found: list[Snowflake | None] = []
        messages: list[Snowflake] = []
        for event in events:
            if isinstance(event, MessageCreated):
                messages.append(event.message.id)
            elif isinstance(event, UserUpdated):
                found.append(event.user.avatar_id)
            elif isinstance(event, GuildUpdated):
                found += [event.guild.icon_id, event.guild.banner_id]
            elif isinstance(event, EmojiCreated):
                found.append(event.emoji.image_id)
        if messages:
            attached = await self._files.attachments_of(messages)
            found += [u.id for uploads in attached.values() for u in uploads]
        return list(dict.fromkeys(i for i in found if i is not None))

    async def make_preview(self, upload_id: Snowflake) -> None:
        upload = await self._files.get_upload(upload_id)
        if (
            upload is None
            or upload.claim is None
            or upload.preview_key is not None
            or upload.preview_failed
            or upload.content_type not in media.IMAGE_TYPES.values()
        ):
            return
        variants = VARIANTS[upload.purpose]
        keep_animation = upload.purpose == UploadPurpose.EMOJI
        with tempfile.SpooledTemporaryFile(max_size=4 << 20) as spool:
            async for chunk in self._blobs.read(upload.key):
                await asyncio.to_thread(spool.write, chunk)
            try:
                made = [
                    (
                        f"previews/{upload.id}{suffix}.webp",
                        await asyncio.to_thread(_preview, spool, side, keep_animation),
                    )
                    for suffix, side in variants
                ]
            except (media.BadFile, OSError, ValueError, SyntaxError):
                log.warning("media.preview_failed", upload_id=upload.id, exc_info=True)
                await self._files.set_preview(upload.id, preview_key=None, failed=True)
                return
        for key, body in made:
            await self._blobs.put(
                key, _once(body), content_type="image/webp", max_bytes=PREVIEW_MAX_BYTES
            )
        announce = await self._announcement(upload)
        await self._files.set_preview(
            upload.id, preview_key=made[0][0], failed=False, events=lambda _: announce
        )
        await self._publisher.publish(announce)

    async def _announcement(self, upload: Upload) -> list[Envelope]:
        """The message an attachment belongs to, published again once its preview exists."""
        if upload.purpose != UploadPurpose.ATTACHMENT or upload.message_id is None:
            return []
        message = await self._messages.get(upload.message_id)
        if message is None:
            return []  # deleted meanwhile: nobody shows it any more
        event = MessageUpdated(event_id=self._ids.next_id(), message=message)
        return seal(event, subjects.message_channel(message.channel_id, message.guild_id))


def _preview(spool: IO[bytes], side: int, keep_animation: bool) -> bytes:  # noqa: FBT001
    spool.seek(0)
    return media.webp_preview(spool, side, keep_animation=keep_animation)


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
