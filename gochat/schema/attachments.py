"""GraphQL types for files: upload slots and message attachments."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.ids import Snowflake
from gochat.schema.common import to_id
from gochat.schema.context import Info


def absolute(info: Info, url: str) -> str:
    """A URL on this server made absolute against the address the client used."""
    if url.startswith("/"):
        base = str(info.context.request.base_url).rstrip("/")
        # Over the WebSocket the base is ws:// or wss://; files are fetched over HTTP.
        if base.startswith("ws"):
            base = "http" + base.removeprefix("ws")
        return base + url
    return url


def public_file_url(
    info: Info, upload_id: Snowflake | None, *, size: int | None = None
) -> str | None:
    """The public URL of an avatar, icon, banner or emoji image, or None without one."""
    if upload_id is None:
        return None
    return absolute(info, info.context.services.attachments.public_url(upload_id, size=size))


@strawberry.enum(description="What an upload is for; a slot is used once, for its purpose only.")
class UploadPurpose(enum.Enum):
    _value_: str
    ATTACHMENT = strawberry.enum_value(
        "attachment",
        description="A file for a message of channelId; ATTACH_FILES; GOCHAT_ATTACHMENT_MAX_BYTES.",
    )
    AVATAR = strawberry.enum_value(
        "avatar",
        description="Your profile picture (an image); GOCHAT_AVATAR_MAX_BYTES.",
    )
    GUILD_ICON = strawberry.enum_value(
        "guild_icon",
        description="The icon of guildId (an image); MANAGE_SERVER; GOCHAT_GUILD_IMAGE_MAX_BYTES.",
    )
    GUILD_BANNER = strawberry.enum_value(
        "guild_banner",
        description="The banner of guildId (an image); MANAGE_SERVER; "
        "GOCHAT_GUILD_IMAGE_MAX_BYTES.",
    )
    EMOJI = strawberry.enum_value(
        "emoji",
        description="A custom emoji image for guildId; CREATE_EXPRESSIONS; GOCHAT_EMOJI_MAX_BYTES.",
    )


@strawberry.input(
    description="Ask for a place to upload one file. ATTACHMENT needs channelId (SEND_MESSAGES "
    "and ATTACH_FILES there); GUILD_ICON and GUILD_BANNER need guildId and MANAGE_SERVER; "
    "EMOJI needs guildId and CREATE_EXPRESSIONS; AVATAR needs neither."
)
class CreateUploadInput:
    purpose: UploadPurpose = strawberry.field(description="What the file will be used for.")
    channel_id: strawberry.ID | None = strawberry.field(
        default=None, description="For ATTACHMENT: the channel of the message."
    )
    guild_id: strawberry.ID | None = strawberry.field(
        default=None, description="For GUILD_ICON, GUILD_BANNER and EMOJI: the guild."
    )
    filename: str = strawberry.field(
        description="The file's name, 1-1024 characters; shown sanitized (no path, control or "
        "bidirectional characters, at most 255 characters)."
    )
    size: int = strawberry.field(
        description="The exact size in bytes; at most GOCHAT_ATTACHMENT_MAX_BYTES (25 MiB), "
        "GOCHAT_AVATAR_MAX_BYTES or GOCHAT_GUILD_IMAGE_MAX_BYTES (8 MiB) or "
        "GOCHAT_EMOJI_MAX_BYTES (256 KiB) by purpose."
    )
    content_type: str = strawberry.field(
        description="The media type, such as image/png; the server checks it against the bytes. "
        "Images for AVATAR, GUILD_ICON, GUILD_BANNER and EMOJI are PNG, JPEG, GIF or WebP."
    )


@strawberry.type(description="One HTTP header to send with the upload request.")
class UploadHeader:
    name: str = strawberry.field(description="The header's name.")
    value: str = strawberry.field(description="The header's exact value.")


@strawberry.type(
    description="Where to send a file's bytes: `method` to `url` with exactly `headers` and "
    "the file as the body, before `expiresAt`. Then pass `id` where the file is used."
)
class UploadSlot:
    id: strawberry.ID = strawberry.field(description="The upload id to use the file with.")
    url: str = strawberry.field(description="Where to send the bytes (signed; do not change).")
    method: str = strawberry.field(description="The HTTP method, PUT.")
    headers: list[UploadHeader] = strawberry.field(description="Headers to send, exactly.")
    expires_at: datetime = strawberry.field(
        description="After this the slot can no longer be filled or used "
        "(GOCHAT_UPLOAD_SLOT_TTL_SECONDS after creation)."
    )


@strawberry.type(description="The new upload slot.")
class CreateUploadPayload:
    slot: UploadSlot = strawberry.field(description="Where and how to send the bytes.")


@strawberry.type(description="A file attached to a message.")
class Attachment:
    record: strawberry.Private[records.Upload]

    @strawberry.field(description="The attachment's id (the id of the upload it came from).")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(
        description="The file name, sanitized: no path, control or bidirectional characters."
    )
    def filename(self) -> str:
        return self.record.filename

    @strawberry.field(description="The file name exactly as the uploader gave it.")
    def original_filename(self) -> str:
        return self.record.original_filename

    @strawberry.field(description="The media type found in the file's bytes.")
    def content_type(self) -> str:
        return self.record.content_type or "application/octet-stream"

    @strawberry.field(description="The size in bytes.")
    def size(self) -> int:
        return self.record.size

    @strawberry.field(description="Width in pixels, for images.")
    def width(self) -> int | None:
        return self.record.width

    @strawberry.field(description="Height in pixels, for images.")
    def height(self) -> int | None:
        return self.record.height

    @strawberry.field(
        description="A short-lived signed URL of the file (GOCHAT_FILE_URL_TTL_SECONDS); "
        "anything but images, video and audio downloads as a file."
    )
    async def url(self, info: Info) -> str:
        found = await info.context.services.attachments.file_url(self.record)
        assert found is not None
        return absolute(info, found)

    @strawberry.field(
        description="A short-lived signed URL of a WebP preview at most 350 px on a side, for "
        "images; null until the media worker made it (a MessageUpdated event follows)."
    )
    async def preview_url(self, info: Info) -> str | None:
        found = await info.context.services.attachments.file_url(self.record, preview=True)
        return None if found is None else absolute(info, found)
