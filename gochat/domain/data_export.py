"""Personal data export: a JSON archive of what GoChat holds about a user, built off the request
path and mailed as a link.

`request` only records the wish (one per user per 24 hours, enforced by a conditional write)
and queues a background task; the task gathers the profile, settings, guild memberships,
friends, blocks, DM channels and every message the user wrote in the channels they can still
reach (their guilds' channels and their DMs, from either message store), writes the archive
to the blob store under `exports/`, and mails a signed link valid for 7 days; `gochat tools
blobs gc` removes archives whose link expired. A task that runs again (after a crash) builds
and mails the archive again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import structlog

from gochat.blobs import BlobStore
from gochat.domain.attachments import AttachmentService
from gochat.domain.records import BackgroundTask, ChannelType, MailMessage, Message, Viewer
from gochat.domain.tasks import TaskQueue
from gochat.errors import Unauthenticated, Unavailable
from gochat.ids import Snowflake, created_at
from gochat.mail import EmailSender
from gochat.storage import MessageStore, RelationalStore

log = structlog.get_logger("gochat.exports")

DATA_EXPORT = "data-export"
EXPORT_EVERY_SECONDS = 24 * 3600
LINK_TTL_SECONDS = 7 * 24 * 3600
ARCHIVE_MAX_BYTES = 2 * 1024**3
_PAGE = 100


def archive_key(task: BackgroundTask) -> str:
    return f"exports/{task.user_id}/{task.id}.json"


class DataExportService:
    def __init__(
        self,
        *,
        store: RelationalStore,
        messages: MessageStore,
        blobs: BlobStore,
        files: AttachmentService,
        mail: EmailSender,
        tasks: TaskQueue,
        public_url: str,
    ) -> None:
        self._store = store
        self._messages = messages
        self._blobs = blobs
        self._files = files
        self._mail = mail
        self._tasks = tasks
        self._public_url = public_url

    async def request(self, viewer: Viewer) -> BackgroundTask:
        """Queue an export of the caller's data; RATE_LIMITED (saying when the next one may be
        asked for) within 24 hours of the previous request."""
        account = await self._store.accounts.get_account(viewer.user_id)
        if account is None or account.user.deleted:
            raise Unauthenticated("this account no longer exists")
        task = self._tasks.new(DATA_EXPORT, user_id=viewer.user_id, guild_id=None, params={})
        await self._tasks.add_export(task, every_seconds=EXPORT_EVERY_SECONDS)
        return task

    async def build_unchecked(self, task: BackgroundTask) -> None:
        """Build the archive of the task's user, store it and mail the link."""
        archive = await self.archive(task.user_id, requested_at=task.created_at)
        if archive is None:
            return  # the account was deleted meanwhile
        body = json.dumps(archive, ensure_ascii=False, indent=1).encode()
        key = archive_key(task)

        async def chunks() -> AsyncIterator[bytes]:
            yield body

        await self._blobs.put(
            key, chunks(), content_type="application/json", max_bytes=ARCHIVE_MAX_BYTES
        )
        link = await self._files.signed_link(
            key,
            filename=f"gochat-export-{task.created_at:%Y-%m-%d}.json",
            content_type="application/json",
            ttl_seconds=LINK_TTL_SECONDS,
        )
        if link.startswith("/"):
            link = self._public_url + link
        email = archive["profile"]["email"]
        try:
            await self._mail.send(
                MailMessage(
                    to=email,
                    subject="Your GoChat data export is ready",
                    text=(
                        "The archive of your GoChat data that you asked for is ready.\n"
                        f"Download it at {link}\n"
                        "The link works for 7 days.\n"
                    ),
                )
            )
        except Unavailable:
            log.warning("mail.undelivered", to=email, subject="data export")
            raise

    async def archive(self, user_id: Snowflake, *, requested_at: datetime) -> dict[str, Any] | None:
        """The archive's content as JSON-ready data; None when the account is gone."""
        accounts, guilds, direct = self._store.accounts, self._store.guilds, self._store.direct
        account = await accounts.get_account(user_id)
        if account is None or account.user.deleted:
            return None
        settings = await accounts.get_settings(user_id)
        memberships: list[dict[str, Any]] = []
        channel_ids: list[tuple[Snowflake, Snowflake | None]] = []
        for guild in await guilds.list_guilds_of_user(user_id):
            data = await guilds.load_access(guild.id, user_id)
            if data is None or data.member is None:
                continue
            memberships.append(
                {
                    "guildId": str(guild.id),
                    "guildName": guild.name,
                    "nickname": data.member.nickname,
                    "joinedAt": _time(data.member.joined_at),
                    "roleIds": [str(r) for r in data.member.role_ids],
                }
            )
            channel_ids += [
                (c.id, guild.id) for c in data.channels.values() if c.type != ChannelType.CATEGORY
            ]
        dms = await direct.list_channels_of(user_id)
        channel_ids += [(c.id, None) for c in dms]
        friend_ids = await direct.friends_of(user_id)
        blocked_ids = await direct.blocked_by(user_id)
        people = await accounts.get_users([*friend_ids, *blocked_ids])
        authored: list[dict[str, Any]] = []
        for channel_id, guild_id in channel_ids:
            authored += [_message(m, guild_id) async for m in self._authored(channel_id, user_id)]
        user = account.user
        return {
            "format": "gochat-data-export/1",
            "generatedAt": _time(datetime.now(UTC)),
            "requestedAt": _time(requested_at),
            "profile": {
                "id": str(user.id),
                "handle": user.handle,
                "displayName": user.display_name,
                "email": account.email,
                "emailVerified": account.email_verified,
                "createdAt": _time(user.created_at),
                "avatarId": None if user.avatar_id is None else str(user.avatar_id),
            },
            "settings": {"version": settings.version, "data": settings.data},
            "memberships": memberships,
            "friends": [_person(people.get(f), f) for f in friend_ids],
            "blocked": [_person(people.get(b), b) for b in blocked_ids],
            "directMessageChannels": [
                {
                    "id": str(c.id),
                    "type": c.type.name,
                    "name": c.name,
                    "recipientIds": [str(r) for r in c.recipient_ids],
                }
                for c in dms
            ],
            "messages": authored,
        }

    async def _authored(self, channel_id: Snowflake, user_id: Snowflake) -> AsyncIterator[Message]:
        after: Snowflake | None = None
        while True:
            rows = await self._messages.page(
                channel_id, before=None, after=after, limit=_PAGE, newest_first=False
            )
            for message in rows:
                if message.author_id == user_id:
                    yield message
            if len(rows) < _PAGE:
                return
            after = rows[-1].id


async def expired_archives(blobs: BlobStore, *, now: datetime) -> AsyncIterator[str]:
    """Keys of archives whose link has expired (named after their task, whose snowflake tells
    when it was asked for); `gochat tools blobs gc` removes them."""
    cutoff = now.timestamp() - LINK_TTL_SECONDS
    async for key in blobs.keys("exports/"):
        name = key.rsplit("/", 1)[-1].split(".", 1)[0]
        if name.isdigit() and created_at(int(name)).timestamp() < cutoff:
            yield key


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _person(user: Any, user_id: Snowflake) -> dict[str, Any]:
    if user is None:
        return {"id": str(user_id)}
    return {"id": str(user_id), "handle": user.handle, "displayName": user.display_name}


def _message(message: Message, guild_id: Snowflake | None) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "channelId": str(message.channel_id),
        "guildId": None if guild_id is None else str(guild_id),
        "createdAt": _time(created_at(message.id)),
        "editedAt": None if message.edited_at is None else _time(message.edited_at),
        "content": message.content,
        "replyToId": None if message.reference_id is None else str(message.reference_id),
        "pinned": message.pinned,
    }
