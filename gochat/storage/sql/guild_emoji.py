"""Custom guild emoji in SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import Emoji
from gochat.errors import Conflict, NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf
from gochat.storage.sql.errors import unavailable_on_disconnect, violated_unique
from gochat.storage.sql.guild_rows import GuildStoreBase, emoji_of
from gochat.storage.sql.tables import emoji


class GuildEmojiMixin(GuildStoreBase):
    """Custom emoji, capped per guild and named uniquely in it."""

    async def list_emoji(self, guild_id: Snowflake) -> list[Emoji]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(emoji).where(emoji.c.guild_id == guild_id).order_by(emoji.c.id)
            )
            return [emoji_of(r) for r in rows]

    async def get_emoji_by_ids(self, emoji_ids: Sequence[Snowflake]) -> dict[Snowflake, Emoji]:
        if not emoji_ids:
            return {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(select(emoji).where(emoji.c.id.in_(list(emoji_ids))))
            return {Snowflake(r.id): emoji_of(r) for r in rows}

    async def create_emoji(
        self, item: Emoji, *, max_per_guild: int, events: EventsOf[Emoji], audit: AuditOf[Emoji]
    ) -> Emoji:
        async def work(conn: AsyncConnection) -> Emoji:
            count = await conn.scalar(
                select(func.count()).select_from(emoji).where(emoji.c.guild_id == item.guild_id)
            )
            if int(count or 0) >= max_per_guild:
                raise Conflict(f"this guild already has the maximum of {max_per_guild} emoji")
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(emoji).values(
                            guild_id=item.guild_id,
                            id=item.id,
                            name=item.name,
                            creator_id=item.creator_id,
                            animated=item.animated,
                            created_at=item.created_at,
                            image_id=item.image_id,
                        )
                    )
            except IntegrityError as exc:
                if violated_unique(exc, "name"):
                    raise Conflict("an emoji with this name exists in the guild") from exc
                raise
            return item

        return await self._mutate(item.guild_id, work, events=events, audit=audit)

    async def rename_emoji(
        self,
        guild_id: Snowflake,
        emoji_id: Snowflake,
        name: str,
        *,
        events: EventsOf[Emoji],
        audit: AuditOf[Emoji],
    ) -> Emoji:
        async def work(conn: AsyncConnection) -> Emoji:
            try:
                async with conn.begin_nested():
                    row = (
                        await conn.execute(
                            update(emoji)
                            .where(and_(emoji.c.guild_id == guild_id, emoji.c.id == emoji_id))
                            .values(name=name)
                            .returning(emoji)
                        )
                    ).first()
            except IntegrityError as exc:
                if violated_unique(exc, "name"):
                    raise Conflict("an emoji with this name exists in the guild") from exc
                raise
            if row is None:
                raise NotFound("emoji not found")
            return emoji_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_emoji(
        self,
        guild_id: Snowflake,
        emoji_id: Snowflake,
        *,
        events: EventsOf[Emoji],
        audit: AuditOf[Emoji],
    ) -> Emoji:
        async def work(conn: AsyncConnection) -> Emoji:
            row = (
                await conn.execute(
                    delete(emoji)
                    .where(and_(emoji.c.guild_id == guild_id, emoji.c.id == emoji_id))
                    .returning(emoji)
                )
            ).first()
            if row is None:
                raise NotFound("emoji not found")
            return emoji_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)
