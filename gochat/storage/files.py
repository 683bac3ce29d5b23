"""The files port: upload slots and the attachments and images they became."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gochat.domain.records import Upload
from gochat.ids import Snowflake
from gochat.storage.events import EventsOf, no_events


class FileStore(Protocol):
    """Upload slots and what they became. Slots live in the relational store even when
    messages live elsewhere: a message's attachments are found by its id."""

    async def create_upload(self, upload: Upload, *, max_open: int, now: datetime) -> bool:
        """Store a new slot unless its owner already holds `max_open` slots that are neither
        used nor expired at `now` (then False, nothing stored)."""

    async def get_upload(self, upload_id: Snowflake) -> Upload | None: ...

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
        """Mark the upload used by `claim` with the facts found in its bytes, in one conditional
        write: succeeds when it is unused or already used by the same claim (a retry), and
        returns None when another claim holds it."""

    async def release(self, upload_id: Snowflake, claim: str) -> None:
        """Undo a claim that its use gave up (only while `claim` holds the upload)."""

    async def bind_message(self, claim: str, message_id: Snowflake) -> None:
        """Point every upload used by `claim` at the message that was finally stored."""

    async def delete_upload(self, upload_id: Snowflake) -> None: ...

    async def attachments_of(
        self, message_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, list[Upload]]:
        """The used attachment uploads of each message, oldest first, in one query."""

    async def get_uploads(self, upload_ids: Sequence[Snowflake]) -> dict[Snowflake, Upload]: ...

    async def set_preview(
        self,
        upload_id: Snowflake,
        *,
        preview_key: str | None,
        failed: bool,
        events: EventsOf[Upload] = no_events,
    ) -> Upload | None:
        """Record a made preview (or that none can be made), with its events; None when the
        upload is gone."""

    async def lacking_previews(self, *, limit: int) -> list[Upload]:
        """Used image uploads whose preview was neither made nor given up on."""

    async def scan(self, *, after_id: Snowflake, limit: int) -> list[Upload]:
        """Uploads in id order after `after_id` (for collection passes)."""

    async def referenced_images(self, upload_ids: Sequence[Snowflake]) -> set[Snowflake]:
        """Those of `upload_ids` that are an avatar, guild icon or banner, or emoji image now."""
