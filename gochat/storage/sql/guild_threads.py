"""Threads in SQL: channel rows of type THREAD under a text channel, and their members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.bus import Envelope
from gochat.domain.records import Channel, ChannelType, ThreadMember
from gochat.errors import BadUserInput, Conflict, NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf, OpenThread
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.guild_rows import GuildStoreBase, channel_of, insert_channel_tx
from gochat.storage.sql.tables import channels, thread_members


def _member_of(row: object) -> ThreadMember:
    return ThreadMember(
        guild_id=Snowflake(row.guild_id),  # type: ignore[attr-defined]
        thread_id=Snowflake(row.thread_id),  # type: ignore[attr-defined]
        user_id=Snowflake(row.user_id),  # type: ignore[attr-defined]
        joined_at=row.joined_at,  # type: ignore[attr-defined]
    )


async def _member_tx(conn: AsyncConnection, member: ThreadMember) -> bool:
    """Add a member; False when they already were one (the guild lock serializes joins)."""
    key = and_(
        thread_members.c.guild_id == member.guild_id,
        thread_members.c.thread_id == member.thread_id,
        thread_members.c.user_id == member.user_id,
    )
    if await conn.scalar(select(thread_members.c.user_id).where(key)) is not None:
        return False
    await conn.execute(
        insert(thread_members).values(
            guild_id=member.guild_id,
            thread_id=member.thread_id,
            user_id=member.user_id,
            joined_at=member.joined_at,
        )
    )
    return True


async def _require_thread_tx(conn: AsyncConnection, guild_id: Snowflake, thread_id: int) -> None:
    kind = await conn.scalar(
        select(channels.c.type).where(
            and_(channels.c.guild_id == guild_id, channels.c.id == thread_id)
        )
    )
    if kind != ChannelType.THREAD:
        raise NotFound("thread not found")


class GuildThreadsMixin(GuildStoreBase):
    """Threads and thread membership."""

    async def create_thread(
        self,
        thread: Channel,
        *,
        creator: ThreadMember,
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel:
        async def work(conn: AsyncConnection) -> Channel:
            parent_type = await conn.scalar(
                select(channels.c.type).where(
                    and_(channels.c.guild_id == thread.guild_id, channels.c.id == thread.parent_id)
                )
            )
            if parent_type != ChannelType.TEXT:
                raise BadUserInput("threads live in text channels", field="channelId")
            await insert_channel_tx(conn, thread)
            await _member_tx(conn, creator)
            return thread

        try:
            return await self._mutate(thread.guild_id, work, events=events, audit=audit)
        except IntegrityError as exc:
            raise Conflict("a thread was already started from this message") from exc

    async def add_thread_member(
        self, member: ThreadMember, *, events: EventsOf[tuple[ThreadMember, bool]]
    ) -> tuple[ThreadMember, bool]:
        async def work(conn: AsyncConnection) -> tuple[ThreadMember, bool]:
            await _require_thread_tx(conn, member.guild_id, member.thread_id)
            return member, await _member_tx(conn, member)

        return await self._mutate(member.guild_id, work, events=events)

    async def remove_thread_member(
        self,
        guild_id: Snowflake,
        thread_id: Snowflake,
        user_id: Snowflake,
        *,
        events: EventsOf[bool],
    ) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            await _require_thread_tx(conn, guild_id, thread_id)
            result = await conn.execute(
                delete(thread_members).where(
                    and_(
                        thread_members.c.guild_id == guild_id,
                        thread_members.c.thread_id == thread_id,
                        thread_members.c.user_id == user_id,
                    )
                )
            )
            return bool(result.rowcount)

        return await self._mutate(guild_id, work, events=events)

    async def thread_members(
        self,
        guild_id: Snowflake,
        thread_id: Snowflake,
        *,
        after_user_id: Snowflake | None,
        limit: int,
    ) -> list[ThreadMember]:
        query = select(thread_members).where(
            and_(thread_members.c.guild_id == guild_id, thread_members.c.thread_id == thread_id)
        )
        if after_user_id is not None:
            query = query.where(thread_members.c.user_id > after_user_id)
        query = query.order_by(thread_members.c.user_id).limit(limit)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return [_member_of(r) for r in await conn.execute(query)]

    async def open_threads(self, *, after_id: Snowflake | None, limit: int) -> list[OpenThread]:
        query = select(channels).where(
            and_(channels.c.type == int(ChannelType.THREAD), channels.c.archived.is_(False))
        )
        if after_id is not None:
            query = query.where(channels.c.id > after_id)
        query = query.order_by(channels.c.id).limit(limit)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return [
                OpenThread(channel_of(r), r.last_activity_at) for r in await conn.execute(query)
            ]

    async def touch_thread(self, guild_id: Snowflake, thread_id: Snowflake, at: datetime) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                update(channels)
                .where(
                    and_(
                        channels.c.guild_id == guild_id,
                        channels.c.id == thread_id,
                        channels.c.type == int(ChannelType.THREAD),
                        channels.c.archived.is_(False),
                    )
                )
                .values(last_activity_at=at)
            )
            return bool(result.rowcount)

    async def archive_idle_thread(
        self, seen: OpenThread, *, archived_at: datetime, events: EventsOf[Channel]
    ) -> Channel | None:
        thread = seen.thread
        activity = channels.c.last_activity_at
        unchanged = (
            activity.is_(None)
            if seen.last_activity_at is None
            else activity == seen.last_activity_at
        )

        async def work(conn: AsyncConnection) -> Channel | None:
            row = (
                await conn.execute(
                    update(channels)
                    .where(
                        and_(
                            channels.c.guild_id == thread.guild_id,
                            channels.c.id == thread.id,
                            channels.c.archived.is_(False),
                            unchanged,
                        )
                    )
                    .values(archived=True, archived_at=archived_at)
                    .returning(channels)
                )
            ).first()
            return None if row is None else channel_of(row)

        def announce(result: Channel | None) -> Sequence[Envelope]:
            return [] if result is None else events(result)

        return await self._mutate(thread.guild_id, work, events=announce)
