"""Guild channels and their permission overwrites in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.permissions import Overwrite
from gochat.domain.records import Channel, ChannelRemoval, ChannelType
from gochat.errors import BadUserInput, NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.guild_rows import (
    GuildStoreBase,
    channel_of,
    insert_channel_tx,
    overwrite_of,
)
from gochat.storage.sql.tables import (
    channel_directory,
    channel_overwrites,
    channels,
    guilds,
    invites,
    thread_members,
)


class GuildChannelsMixin(GuildStoreBase):
    """Channels, their order and their permission overwrites."""

    async def text_channel_ids(self, guild_id: Snowflake | None) -> list[Snowflake]:
        query = select(channels.c.id).where(
            channels.c.type.in_([int(ChannelType.TEXT), int(ChannelType.THREAD)])
        )
        if guild_id is not None:
            query = query.where(channels.c.guild_id == guild_id)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return [Snowflake(r.id) for r in await conn.execute(query.order_by(channels.c.id))]

    async def create_channel(
        self,
        channel: Channel,
        *,
        overwrites: Sequence[Overwrite],
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel:
        async def work(conn: AsyncConnection) -> Channel:
            if channel.parent_id is not None:
                await _require_category_tx(conn, channel.guild_id, channel.parent_id)
            await insert_channel_tx(conn, channel)
            for ow in overwrites:
                await _put_overwrite_tx(conn, channel.guild_id, ow)
            return channel

        return await self._mutate(channel.guild_id, work, events=events, audit=audit)

    async def update_channel(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        values: dict[str, Any],
        *,
        replace_overwrites: Sequence[Overwrite] | None,
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel:
        async def work(conn: AsyncConnection) -> Channel:
            if values.get("parent_id") is not None:
                await _require_category_tx(conn, guild_id, values["parent_id"])
            query = update(channels).where(
                and_(channels.c.guild_id == guild_id, channels.c.id == channel_id)
            )
            row = (
                (await conn.execute(query.values(**values).returning(channels))).first()
                if values
                else (
                    await conn.execute(
                        select(channels).where(
                            and_(channels.c.guild_id == guild_id, channels.c.id == channel_id)
                        )
                    )
                ).first()
            )
            if row is None:
                raise NotFound("channel not found")
            if replace_overwrites is not None:
                await conn.execute(
                    delete(channel_overwrites).where(
                        and_(
                            channel_overwrites.c.guild_id == guild_id,
                            channel_overwrites.c.channel_id == channel_id,
                        )
                    )
                )
                for ow in replace_overwrites:
                    await _put_overwrite_tx(conn, guild_id, ow)
            return channel_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_channel(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        *,
        events: EventsOf[ChannelRemoval],
        audit: AuditOf[ChannelRemoval],
    ) -> ChannelRemoval:
        async def work(conn: AsyncConnection) -> ChannelRemoval:
            row = (
                await conn.execute(
                    delete(channels)
                    .where(and_(channels.c.guild_id == guild_id, channels.c.id == channel_id))
                    .returning(channels)
                )
            ).first()
            if row is None:
                raise NotFound("channel not found")
            await conn.execute(
                delete(channel_directory).where(channel_directory.c.channel_id == channel_id)
            )
            await conn.execute(
                delete(channel_overwrites).where(
                    and_(
                        channel_overwrites.c.guild_id == guild_id,
                        channel_overwrites.c.channel_id == channel_id,
                    )
                )
            )
            await conn.execute(
                delete(invites).where(
                    and_(invites.c.guild_id == guild_id, invites.c.channel_id == channel_id)
                )
            )
            # A thread goes with its parent (its messages stay, unreachable, as a deleted
            # channel's do); other children are orphaned.
            threads = sorted(
                (
                    channel_of(r)
                    for r in await conn.execute(
                        delete(channels)
                        .where(
                            and_(
                                channels.c.guild_id == guild_id,
                                channels.c.parent_id == channel_id,
                                channels.c.type == int(ChannelType.THREAD),
                            )
                        )
                        .returning(channels)
                    )
                ),
                key=lambda t: t.id,
            )
            gone = [channel_id, *(t.id for t in threads)]
            await conn.execute(
                delete(channel_directory).where(channel_directory.c.channel_id.in_(gone))
            )
            await conn.execute(
                delete(thread_members).where(
                    and_(
                        thread_members.c.guild_id == guild_id,
                        thread_members.c.thread_id.in_(gone),
                    )
                )
            )
            await conn.execute(
                update(channels)
                .where(and_(channels.c.guild_id == guild_id, channels.c.parent_id == channel_id))
                .values(parent_id=None)
            )
            await conn.execute(
                update(guilds)
                .where(and_(guilds.c.id == guild_id, guilds.c.system_channel_id == channel_id))
                .values(system_channel_id=None)
            )
            return ChannelRemoval(channel_of(row), tuple(threads))

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def set_channel_positions(
        self,
        guild_id: Snowflake,
        placements: Sequence[tuple[Snowflake, Snowflake | None, int]],
        *,
        events: EventsOf[list[Channel]],
        audit: AuditOf[list[Channel]],
    ) -> list[Channel]:
        async def work(conn: AsyncConnection) -> list[Channel]:
            for channel_id, parent_id, position in placements:
                if parent_id is not None:
                    await _require_category_tx(conn, guild_id, parent_id)
                result = await conn.execute(
                    update(channels)
                    .where(and_(channels.c.guild_id == guild_id, channels.c.id == channel_id))
                    .values(parent_id=parent_id, position=position)
                )
                if result.rowcount != 1:
                    raise NotFound(f"channel {channel_id} not found")
            rows = await conn.execute(
                select(channels).where(
                    and_(
                        channels.c.guild_id == guild_id,
                        channels.c.type != int(ChannelType.THREAD),
                    )
                )
            )
            return [channel_of(r) for r in rows]

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def put_overwrite(
        self,
        guild_id: Snowflake,
        overwrite: Overwrite,
        *,
        events: EventsOf[Overwrite],
        audit: AuditOf[Overwrite],
    ) -> Overwrite:
        async def work(conn: AsyncConnection) -> Overwrite:
            await _put_overwrite_tx(conn, guild_id, overwrite)
            return overwrite

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_overwrite(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        target_type: str,
        target_id: Snowflake,
        *,
        events: EventsOf[Overwrite],
        audit: AuditOf[Overwrite],
    ) -> Overwrite:
        async def work(conn: AsyncConnection) -> Overwrite:
            row = (
                await conn.execute(
                    delete(channel_overwrites)
                    .where(
                        and_(
                            channel_overwrites.c.guild_id == guild_id,
                            channel_overwrites.c.channel_id == channel_id,
                            channel_overwrites.c.target_type == target_type,
                            channel_overwrites.c.target_id == target_id,
                        )
                    )
                    .returning(channel_overwrites)
                )
            ).first()
            if row is None:
                raise NotFound("overwrite not found")
            return overwrite_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)


async def _require_category_tx(conn: AsyncConnection, guild_id: Snowflake, parent_id: int) -> None:
    kind = await conn.scalar(
        select(channels.c.type).where(
            and_(channels.c.guild_id == guild_id, channels.c.id == parent_id)
        )
    )
    if kind != ChannelType.CATEGORY:
        raise BadUserInput("the parent must be a category of the same guild", field="parentId")


async def _put_overwrite_tx(conn: AsyncConnection, guild_id: Snowflake, ow: Overwrite) -> None:
    key = and_(
        channel_overwrites.c.guild_id == guild_id,
        channel_overwrites.c.channel_id == ow.channel_id,
        channel_overwrites.c.target_type == ow.target_type,
        channel_overwrites.c.target_id == ow.target_id,
    )
    result = await conn.execute(
        update(channel_overwrites).where(key).values(allow=ow.allow, deny=ow.deny)
    )
    if result.rowcount == 0:
        await conn.execute(
            insert(channel_overwrites).values(
                guild_id=guild_id,
                channel_id=ow.channel_id,
                target_type=ow.target_type,
                target_id=ow.target_id,
                allow=ow.allow,
                deny=ow.deny,
            )
        )
