"""Files: upload slots, the embedded upload endpoint's rules, and using an upload.

A client asks for a slot (`create_upload`) naming the purpose, the channel or guild, the file
name, its exact size and its type; the slot says where to send the bytes: a presigned PUT on S3
(size and type bound into the signature) or this server's own `/uploads/{id}` (HMAC-signed,
streamed to the blob store, cut off past the declared size). Permissions are checked when the
slot is made and again when it is used. A slot lives `slot_ttl_seconds`; a user holds at most
`max_open_slots` unused ones.

Using an upload (`use`) is what makes it a file: the server finds the object, checks that its
real size is the declared one, finds its real type in its bytes (never the client's type or the
file name) and, for images, decodes it under pixel limits (so a truncated image, a pixel flood
or a decompression bomb is refused here, where the sender still gets the error). The claim is
one conditional write: an upload is used once, by its uploader, for its purpose and channel or
guild, and using it again with the same claim (a retried send with the same nonce) is the same
use. Previews are not made here: used images go to the media worker after commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO
from urllib.parse import quote, urlencode

from gochat import media
from gochat.blobs import BlobStore
from gochat.domain.changes import ChangeKit
from gochat.domain.channel_access import ChannelAccessResolver
from gochat.domain.permissions import Permission
from gochat.domain.records import FileFacts, Upload, UploadPurpose, Viewer
from gochat.errors import BadUserInput, Conflict, Forbidden, NotFound, RateLimited
from gochat.ids import Snowflake
from gochat.storage import FileStore

FILENAME_MAX = 255
IMAGE_PURPOSES = {
    UploadPurpose.AVATAR,
    UploadPurpose.GUILD_ICON,
    UploadPurpose.GUILD_BANNER,
    UploadPurpose.EMOJI,
}
INLINE_PREFIXES = ("image/", "video/", "audio/")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
# The types clients name in other ways than `filetype` does.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg"}
_UNSAFE_NAME_CHARS = re.compile(r'[<>:"/\\|?*]')


@dataclass(frozen=True, slots=True)
class FilePolicy:
    max_bytes: dict[UploadPurpose, int]
    max_open_slots: int
    slot_ttl_seconds: int
    url_ttl_seconds: int
    signing_key: bytes


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """A slot and the request that fills it. A relative `url` is on this server."""

    upload: Upload
    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Download:
    """What the embedded file endpoint serves: a key, with the headers chosen when the URL
    was signed."""

    key: str
    content_type: str
    filename: str
    inline: bool


def sanitize_filename(raw: str) -> str:
    """A name safe to show and to save under: the last path segment, without control, format
    (bidirectional overrides, zero-width) or reserved characters, at most 255 characters, and
    keeping its extension."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co", "Cn"})
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if not name:
        return "file"
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        name = name[: FILENAME_MAX - len(ext) - 1] + "." + ext if ext else name[:FILENAME_MAX]
    return name


def _base_type(value: str) -> str:
    base = value.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def inline_type(content_type: str) -> bool:
    """Whether a type may be shown in the browser; anything else is served as a download."""
    return content_type.startswith(INLINE_PREFIXES)


def reconcile_type(declared: str, facts: FileFacts, head: bytes) -> str:
    """The type to store and serve: what the bytes show, refusing a declared type they deny."""
    said = _base_type(declared)
    found = facts.content_type
    if found != media.GENERIC_TYPE:
        if said not in {found, media.GENERIC_TYPE}:
            raise BadUserInput(f"the file is {found}, not {said}", field="contentType")
        return found
    if said.startswith(INLINE_PREFIXES):
        raise BadUserInput(f"the file is not {said}", field="contentType")
    if said == "text/plain":
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            # Only the cut at the end of `head` may split a character.
            if len(head) < media.SNIFF_BYTES:
                raise BadUserInput("the file is not UTF-8 text", field="contentType") from None
        return "text/plain; charset=utf-8"
    return media.GENERIC_TYPE


class AttachmentService:
    def __init__(
        self,
        kit: ChangeKit,
        files: FileStore,
        blobs: BlobStore,
        channels: ChannelAccessResolver,
        policy: FilePolicy,
    ) -> None:
        self._kit = kit
        self._files = files
        self._blobs = blobs
        self._channels = channels
        self._policy = policy
        self._on_used: list[Callable[[Sequence[Upload]], None]] = []

    def add_used_listener(self, listener: Callable[[Sequence[Upload]], None]) -> None:
        """Called with uploads after their use committed (the media worker's feed)."""
        self._on_used.append(listener)

    def used(self, uploads: Sequence[Upload]) -> None:
        """Tell listeners that these uploads were used and the use is stored."""
        for listener in self._on_used:
            listener(uploads)

    # --- slots -----------------------------------------------------------------------------

    async def create_upload(
        self,
        viewer: Viewer,
        *,
        purpose: UploadPurpose,
        channel_id: Snowflake | None,
        guild_id: Snowflake | None,
        filename: str,
        size: int,
        content_type: str,
    ) -> UploadTarget:
        await self._check_target(viewer, purpose, channel_id=channel_id, guild_id=guild_id)
        cap = self._policy.max_bytes[purpose]
        if not 1 <= size <= cap:
            raise BadUserInput(f"a file for this purpose has 1 to {cap} bytes", field="size")
        declared = _base_type(content_type)
        if not _TYPE.match(declared):
            raise BadUserInput("contentType is a media type such as image/png", field="contentType")
        if not filename.strip() or len(filename) > 1024:
            raise BadUserInput("a file name has 1 to 1024 characters", field="filename")
        if purpose in IMAGE_PURPOSES and declared not in media.IMAGE_TYPES.values():
            raise BadUserInput("this needs a PNG, JPEG, GIF or WebP image", field="contentType")
        kit = self._kit
        now = kit.now()
        upload_id = kit.ids.next_id()
        upload = Upload(
            id=upload_id,
            owner_id=viewer.user_id,
            purpose=purpose,
            channel_id=channel_id if purpose == UploadPurpose.ATTACHMENT else None,
            guild_id=guild_id if purpose != UploadPurpose.ATTACHMENT else None,
            filename=sanitize_filename(filename),
            original_filename=filename,
            size=size,
            declared_type=declared,
            key=f"uploads/{upload_id}",
            created_at=now,
            expires_at=now + timedelta(seconds=self._policy.slot_ttl_seconds),
        )
        if not await self._files.create_upload(
            upload, max_open=self._policy.max_open_slots, now=now
        ):
            raise RateLimited(
                f"you hold {self._policy.max_open_slots} unused upload slots; use them or wait",
                retry_after=self._policy.slot_ttl_seconds,
            )
        direct = await self._blobs.direct_upload(
            upload.key,
            size=size,
            content_type=declared,
            expires_in_seconds=self._policy.slot_ttl_seconds,
        )
        if direct is not None:
            return UploadTarget(
                upload, direct.url, direct.method, direct.headers, upload.expires_at
            )
        expires = math.ceil(upload.expires_at.timestamp())
        query = urlencode(
            {"expires": expires, "signature": self._sign(f"upload:{upload_id}:{expires}")}
        )
        return UploadTarget(
            upload,
            f"/uploads/{upload_id}?{query}",
            "PUT",
            (("Content-Type", declared), ("Content-Length", str(size))),
            upload.expires_at,
        )

    async def _check_target(
        self,
        viewer: Viewer,
        purpose: UploadPurpose,
        *,
        channel_id: Snowflake | None,
        guild_id: Snowflake | None,
    ) -> None:
        if purpose == UploadPurpose.ATTACHMENT:
            if channel_id is None:
                raise BadUserInput("an attachment needs a channelId", field="channelId")
            access = await self._channels.message_channel(viewer, channel_id)
            access.require(Permission.SEND_MESSAGES | Permission.ATTACH_FILES, "attach files")
        elif purpose == UploadPurpose.AVATAR:
            return
        else:
            if guild_id is None:
                raise BadUserInput("this purpose needs a guildId", field="guildId")
            view = await self._kit.access.view(viewer, guild_id)
            if purpose == UploadPurpose.EMOJI:
                view.require(Permission.CREATE_EXPRESSIONS, "create emoji")
            else:
                view.require(Permission.MANAGE_SERVER, "change the guild's images")

    # --- the embedded upload endpoint ------------------------------------------------------

    async def receive(
        self,
        upload_id: Snowflake,
        *,
        expires: int,
        signature: str,
        content_type: str,
        content_length: int | None,
        chunks: AsyncIterable[bytes],
    ) -> Upload:
        """Store the body of a PUT to a signed upload URL: exactly the declared size and type,
        all or nothing."""
        if expires < time.time() or not hmac.compare_digest(
            signature, self._sign(f"upload:{upload_id}:{expires}")
        ):
            raise Forbidden("this upload URL is not valid or has expired")
        upload = await self._files.get_upload(upload_id)
        if upload is None:
            raise NotFound("upload not found")
        if upload.claim is not None:
            raise Conflict("this upload was already used")
        if _base_type(content_type) != upload.declared_type:
            raise BadUserInput(f"send Content-Type: {upload.declared_type}", field="contentType")
        if content_length is not None and content_length != upload.size:
            raise BadUserInput(f"send exactly {upload.size} bytes", field="size")
        stored = await self._blobs.put(
            upload.key, chunks, content_type=upload.declared_type, max_bytes=upload.size
        )
        if stored.size != upload.size:
            await self._blobs.delete(upload.key)
            raise BadUserInput(f"send exactly {upload.size} bytes", field="size")
        return upload

    # --- using an upload -------------------------------------------------------------------

    async def use(
        self,
        viewer: Viewer,
        upload_ids: Sequence[Snowflake],
        *,
        purpose: UploadPurpose,
        claim: str,
        channel_id: Snowflake | None = None,
        guild_id: Snowflake | None = None,
        message_id: Snowflake | None = None,
    ) -> list[Upload]:
        """Verify and claim uploads, all or none. NotFound for an upload that is not the
        viewer's or not for this purpose and place; Conflict when one was used otherwise."""
        found = await self._files.get_uploads(upload_ids)
        now = self._kit.now()
        checked: list[tuple[Upload, FileFacts]] = []
        for upload_id in upload_ids:
            upload = found.get(upload_id)
            if (
                upload is None
                or upload.owner_id != viewer.user_id
                or upload.purpose != purpose
                or (purpose == UploadPurpose.ATTACHMENT and upload.channel_id != channel_id)
                or (
                    purpose in IMAGE_PURPOSES - {UploadPurpose.AVATAR}
                    and upload.guild_id != guild_id
                )
            ):
                raise NotFound(f"upload {upload_id} not found")
            if upload.claim is not None:
                if upload.claim != claim:
                    raise Conflict(f"upload {upload_id} was already used")
                assert upload.content_type is not None
                facts = FileFacts(upload.content_type, upload.width, upload.height, upload.animated)
            else:
                if upload.expires_at <= now:
                    raise BadUserInput(
                        f"upload {upload_id} expired; ask for a new slot", field="uploadId"
                    )
                facts = await self._verify(upload)
            checked.append((upload, facts))
        claimed: list[Upload] = []
        for upload, facts in checked:
            done = await self._files.claim(
                upload,
                claim=claim,
                message_id=message_id,
                content_type=facts.content_type,
                width=facts.width,
                height=facts.height,
                animated=facts.animated,
                now=now,
            )
            if done is None:
                # A concurrent use won the race: give back what this one took, unless it was
                # taken before by the same claim (an earlier attempt of this very use).
                for mine in claimed:
                    if found[mine.id].claim is None:
                        await self._files.release(mine.id, claim)
                raise Conflict(f"upload {upload.id} was already used")
            claimed.append(done)
        return claimed

    async def use_image(
        self,
        viewer: Viewer,
        upload_id: Snowflake,
        *,
        purpose: UploadPurpose,
        guild_id: Snowflake | None = None,
    ) -> Upload:
        """Verify and claim an avatar, icon, banner or emoji image upload. The claim names the
        upload itself, so repeating the same change is the same use."""
        [used] = await self.use(
            viewer,
            [upload_id],
            purpose=purpose,
            claim=f"{purpose.value}:{upload_id}",
            guild_id=guild_id,
        )
        return used

    async def bind_message(
        self, claim: str, uploads: Sequence[Upload], message_id: Snowflake
    ) -> None:
        if any(u.message_id != message_id for u in uploads):
            await self._files.bind_message(claim, message_id)

    async def _verify(self, upload: Upload) -> FileFacts:
        info = await self._blobs.head(upload.key)
        if info is None:
            raise BadUserInput(f"nothing was uploaded for upload {upload.id}", field="uploadId")
        if info.size != upload.size:
            await self._discard(upload)
            raise BadUserInput(
                f"upload {upload.id} has {info.size} bytes, not the {upload.size} declared",
                field="uploadId",
            )
        with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
            head = bytearray()
            chunks = self._blobs.read(upload.key)
            try:
                async for chunk in chunks:
                    await asyncio.to_thread(spool.write, chunk)
                    if len(head) < media.SNIFF_BYTES:
                        head += chunk[: media.SNIFF_BYTES - len(head)]
                    if len(head) >= media.SNIFF_BYTES and not _looks_like_image(bytes(head)):
                        break  # not an image: the head is all that is needed
            finally:
                # Close the store's stream now, not when it is collected (an open file).
                closer = getattr(chunks, "aclose", None)
                if closer is not None:
                    await closer()
            try:
                facts = await asyncio.to_thread(_inspect, spool, bytes(head))
                content_type = reconcile_type(upload.declared_type, facts, bytes(head))
            except media.BadFile as exc:
                await self._discard(upload)
                raise BadUserInput(f"{upload.filename}: {exc}", field="uploadId") from None
            except BadUserInput:
                await self._discard(upload)
                raise
        if upload.purpose in IMAGE_PURPOSES and not facts.is_image:
            await self._discard(upload)
            raise BadUserInput("this needs a PNG, JPEG, GIF or WebP image", field="uploadId")
        return FileFacts(content_type, facts.width, facts.height, facts.animated)

    async def _discard(self, upload: Upload) -> None:
        """A refused upload keeps nothing: neither its bytes nor its slot."""
        await self._blobs.delete(upload.key)
        await self._files.delete_upload(upload.id)

    # --- reading ---------------------------------------------------------------------------

    async def attachments_of(
        self, message_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, list[Upload]]:
        """For messages the caller already reached through an authorized path."""
        return await self._files.attachments_of(message_ids)

    async def get_uploads_unchecked(
        self, upload_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Upload]:
        return await self._files.get_uploads(upload_ids)

    async def file_url(self, upload: Upload, *, preview: bool = False) -> str | None:
        """A short-lived URL of an attachment (or its preview): presigned by the store, or
        signed for this server's `/files/` endpoint (relative)."""
        key = upload.preview_key if preview else upload.key
        if key is None or upload.content_type is None:
            return None
        content_type = "image/webp" if preview else upload.content_type
        filename = f"{upload.filename.rsplit('.', 1)[0]}.webp" if preview else upload.filename
        inline = inline_type(content_type)
        ttl = self._policy.url_ttl_seconds
        direct = await self._blobs.download_url(
            key, expires_in_seconds=ttl, filename=filename, inline=inline, content_type=content_type
        )
        if direct is not None:
            return direct
        # Round the expiry so one message's URL is the same for a while (cacheable, and one
        # result serves every subscriber of an event).
        expires = (int(time.time()) // 60 + 1) * 60 + ttl
        params = {"type": content_type, "name": filename, "expires": str(expires)}
        params["signature"] = self._sign(_download_message(key, params))
        return f"/files/{quote(key)}?{urlencode(params)}"

    async def signed_link(
        self, key: str, *, filename: str, content_type: str, ttl_seconds: int
    ) -> str:
        """A download URL of any stored object for `ttl_seconds` (a data export's link):
        presigned by the store, or signed for this server's `/files/` endpoint (relative)."""
        direct = await self._blobs.download_url(
            key,
            expires_in_seconds=ttl_seconds,
            filename=filename,
            inline=False,
            content_type=content_type,
        )
        if direct is not None:
            return direct
        params = {
            "type": content_type,
            "name": filename,
            "expires": str(int(time.time()) + ttl_seconds),
        }
        params["signature"] = self._sign(_download_message(key, params))
        return f"/files/{quote(key)}?{urlencode(params)}"

    def public_url(self, upload_id: Snowflake, *, size: int | None = None) -> str:
        """The URL of an avatar, icon, banner or emoji image: public by id (relative)."""
        return f"/files/public/{upload_id}" + ("" if size is None else f"?size={size}")

    def check_download(self, key: str, params: dict[str, str]) -> Download:
        """The file a signed `/files/` URL names; Forbidden when the signature is wrong or old."""
        try:
            expires = int(params.get("expires", "0"))
        except ValueError:
            expires = 0
        signature = params.get("signature", "")
        wanted = self._sign(_download_message(key, params))
        if expires < time.time() or not hmac.compare_digest(signature, wanted):
            raise Forbidden("this file URL is not valid or has expired")
        content_type = params.get("type", media.GENERIC_TYPE)
        return Download(
            key=key,
            content_type=content_type,
            filename=params.get("name", "file"),
            inline=inline_type(content_type),
        )

    async def public_download(self, upload_id: Snowflake, *, size: int | None) -> Download:
        """An avatar, icon, banner or emoji image by id: the preview when there is one."""
        upload = (await self._files.get_uploads([upload_id])).get(upload_id)
        if upload is None or upload.claim is None or upload.purpose not in IMAGE_PURPOSES:
            raise NotFound("file not found")
        key, content_type = upload.key, upload.content_type or media.GENERIC_TYPE
        if upload.preview_key is not None:
            key, content_type = upload.preview_key, "image/webp"
            if size is not None and size <= 48 and upload.purpose == UploadPurpose.EMOJI:
                key = upload.preview_key.replace("-96.webp", "-44.webp")
        return Download(key=key, content_type=content_type, filename=upload.filename, inline=True)

    async def store_url(self, download: Download) -> str | None:
        """A presigned URL for a download when the store serves files itself."""
        return await self._blobs.download_url(
            download.key,
            expires_in_seconds=self._policy.url_ttl_seconds,
            filename=download.filename,
            inline=download.inline,
            content_type=download.content_type,
        )

    def _sign(self, message: str) -> str:
        return hmac.new(self._policy.signing_key, message.encode(), hashlib.sha256).hexdigest()


def _download_message(key: str, params: dict[str, str]) -> str:
    return "\n".join(
        ("file", key, params.get("type", ""), params.get("name", ""), params.get("expires", ""))
    )


def _inspect(spool: IO[bytes], head: bytes) -> FileFacts:
    spool.seek(0)
    return media.inspect(spool, head)


def _looks_like_image(head: bytes) -> bool:
    return media.sniff(head) in media.IMAGE_TYPES.values()
