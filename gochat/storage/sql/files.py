"""Upload slots and used files in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from gochat.domain.records import Upload, UploadPurpose
from gochat.ids import Snowflake
from gochat.storage.events import EventsOf, no_events
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.outbox import append_tx
from gochat.storage.sql.tables import emoji, guilds, uploads, users

_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def _upload(row: Any) -> Upload:
    return Upload(
        id=Snowflake(row.id),
        owner_id=Snowflake(row.owner_id),
        purpose=UploadPurpose(row.purpose),
        channel_id=None if row.channel_id is None else Snowflake(row.channel_id),
        guild_id=None if row.guild_id is None else Snowflake(row.guild_id),
        filename=row.filename,
        original_filename=row.original_filename,
        size=int(row.size),
        declared_type=row.declared_type,
        key=row.blob_key,
        created_at=row.created_at,
        expires_at=row.expires_at,
        claim=row.claim,
        claimed_at=row.claimed_at,
        message_id=None if row.message_id is None else Snowflake(row.message_id),
        content_type=row.content_type,
        width=row.width,
        height=row.height,
        animated=bool(row.animated),
        preview_key=row.preview_key,
        preview_failed=bool(row.preview_failed),
    )


class SqlFileStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def create_upload(self, upload: Upload, *, max_open: int, now: datetime) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Serialize one owner's slot creations so two at once cannot both pass the count.
                await conn.execute(select(func.pg_advisory_xact_lock(upload.owner_id)))
            open_count = (
                await conn.execute(
                    select(func.count())
                    .select_from(uploads)
                    .where(
                        uploads.c.owner_id == upload.owner_id,
                        uploads.c.claim.is_(None),
                        uploads.c.expires_at > now,
                    )
                )
            ).scalar_one()
            if open_count >= max_open:
                return False
            await conn.execute(
                uploads.insert().values(
                    id=upload.id,
                    owner_id=upload.owner_id,
                    purpose=upload.purpose.value,
                    channel_id=upload.channel_id,
                    guild_id=upload.guild_id,
                    filename=upload.filename,
                    original_filename=upload.original_filename,
                    size=upload.size,
                    declared_type=upload.declared_type,
                    blob_key=upload.key,
                    created_at=upload.created_at,
                    expires_at=upload.expires_at,
                    animated=False,
                    preview_failed=False,
                )
            )
        return True

    async def get_upload(self, upload_id: Snowflake) -> Upload | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(uploads).where(uploads.c.id == upload_id))).first()
        return None if row is None else _upload(row)

    async def get_uploads(self, upload_ids: Sequence[Snowflake]) -> dict[Snowflake, Upload]:
        if not upload_ids:
            return {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(select(uploads).where(uploads.c.id.in_(list(upload_ids))))
            return {Snowflake(r.id): _upload(r) for r in rows}

    async def claim(
        self,
        upload: Upload,
        *,
        claim: str,
        message_id: Snowflake | None,
        content_type: str,
        width: int | None,
        height: int | None,
        animated: bool,
        now: datetime,
    ) -> Upload | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            done = await conn.execute(
                update(uploads)
                .where(
                    uploads.c.id == upload.id,
                    uploads.c.owner_id == upload.owner_id,
                    or_(uploads.c.claim.is_(None), uploads.c.claim == claim),
                )
                .values(
                    claim=claim,
                    claimed_at=now,
                    message_id=func.coalesce(uploads.c.message_id, message_id),
                    content_type=content_type,
                    width=width,
                    height=height,
                    animated=animated,
                )
            )
            if done.rowcount != 1:
                return None
            row = (await conn.execute(select(uploads).where(uploads.c.id == upload.id))).one()
        return _upload(row)

    async def release(self, upload_id: Snowflake, claim: str) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(uploads)
                .where(uploads.c.id == upload_id, uploads.c.claim == claim)
                .values(claim=None, claimed_at=None, message_id=None)
            )

    async def bind_message(self, claim: str, message_id: Snowflake) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(uploads).where(uploads.c.claim == claim).values(message_id=message_id)
            )

    async def delete_upload(self, upload_id: Snowflake) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(uploads.delete().where(uploads.c.id == upload_id))

    async def attachments_of(
        self, message_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, list[Upload]]:
        if not message_ids:
            return {}
        found: dict[Snowflake, list[Upload]] = {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(uploads)
                .where(
                    uploads.c.message_id.in_(list(message_ids)),
                    uploads.c.purpose == UploadPurpose.ATTACHMENT.value,
                    uploads.c.claim.is_not(None),
                )
                .order_by(uploads.c.id)
            )
            for row in rows:
                found.setdefault(Snowflake(row.message_id), []).append(_upload(row))
        return found

    async def set_preview(
        self,
        upload_id: Snowflake,
        *,
        preview_key: str | None,
        failed: bool,
        events: EventsOf[Upload] = no_events,
    ) -> Upload | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(uploads)
                .where(uploads.c.id == upload_id)
                .values(preview_key=preview_key, preview_failed=failed)
            )
            row = (await conn.execute(select(uploads).where(uploads.c.id == upload_id))).first()
            if row is None:
                return None
            upload = _upload(row)
            await append_tx(conn, events(upload))
        return upload

    async def lacking_previews(self, *, limit: int) -> list[Upload]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(uploads)
                .where(
                    and_(
                        uploads.c.claim.is_not(None),
                        uploads.c.preview_key.is_(None),
                        uploads.c.preview_failed.is_(False),
                        uploads.c.content_type.in_(_IMAGE_TYPES),
                    )
                )
                .order_by(uploads.c.id)
                .limit(limit)
            )
            return [_upload(r) for r in rows]

    async def scan(self, *, after_id: Snowflake, limit: int) -> list[Upload]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(uploads).where(uploads.c.id > after_id).order_by(uploads.c.id).limit(limit)
            )
            return [_upload(r) for r in rows]

    async def referenced_images(self, upload_ids: Sequence[Snowflake]) -> set[Snowflake]:
        if not upload_ids:
            return set()
        ids = list(upload_ids)
        found: set[Snowflake] = set()
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            for column in (
                users.c.avatar_id,
                guilds.c.icon_id,
                guilds.c.banner_id,
                emoji.c.image_id,
            ):
                rows = await conn.execute(select(column).where(column.in_(ids)))
                found.update(Snowflake(r[0]) for r in rows)
        return found
