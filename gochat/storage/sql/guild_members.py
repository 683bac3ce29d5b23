"""Guild members and moderation (kicks, bans) in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import Ban, Member
from gochat.errors import Conflict, NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.guild_rows import GuildStoreBase, ban_of, end_membership_tx, members_tx
from gochat.storage.sql.tables import bans, guilds, members, users


class GuildMembersMixin(GuildStoreBase):
    """Members, their removal and the guild's bans."""

    async def get_member(self, guild_id: Snowflake, user_id: Snowflake) -> Member | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            found = await members_tx(conn, guild_id, [user_id])
        return found[0] if found else None

    async def get_members(
        self, guild_id: Snowflake, user_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Member]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return {m.user_id: m for m in await members_tx(conn, guild_id, user_ids)}

    async def list_members(
        self,
        guild_id: Snowflake,
        *,
        after_user_id: Snowflake | None,
        prefix: str | None,
        limit: int,
    ) -> list[Member]:
        query = select(members.c.user_id).where(members.c.guild_id == guild_id)
        if after_user_id is not None:
            query = query.where(members.c.user_id > after_user_id)
        if prefix:
            pattern = (
                prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            query = query.join(users, users.c.id == members.c.user_id).where(
                or_(
                    func.lower(users.c.handle).like(pattern, escape="\\"),
                    func.lower(users.c.display_name).like(pattern, escape="\\"),
                    func.lower(members.c.nickname).like(pattern, escape="\\"),
                )
            )
        query = query.order_by(members.c.user_id).limit(limit)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            ids = [Snowflake(r.user_id) for r in await conn.execute(query)]
            found = {m.user_id: m for m in await members_tx(conn, guild_id, ids)}
        return [found[i] for i in ids if i in found]

    async def count_members(self, guild_id: Snowflake) -> int:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            value = await conn.scalar(
                select(func.count()).select_from(members).where(members.c.guild_id == guild_id)
            )
        return int(value or 0)

    async def list_bans(self, guild_id: Snowflake) -> list[Ban]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(bans).where(bans.c.guild_id == guild_id).order_by(bans.c.created_at)
            )
            return [ban_of(r) for r in rows]

    async def update_member(
        self,
        guild_id: Snowflake,
        user_id: Snowflake,
        values: dict[str, Any],
        *,
        events: EventsOf[Member],
        audit: AuditOf[Member],
    ) -> Member:
        async def work(conn: AsyncConnection) -> Member:
            result = await conn.execute(
                update(members)
                .where(and_(members.c.guild_id == guild_id, members.c.user_id == user_id))
                .values(**values)
            )
            if result.rowcount != 1:
                raise NotFound("member not found")
            return (await members_tx(conn, guild_id, [user_id]))[0]

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def remove_member(
        self,
        guild_id: Snowflake,
        user_id: Snowflake,
        *,
        ban: Ban | None,
        events: EventsOf[Member | None],
        audit: AuditOf[Member | None],
    ) -> Member | None:
        """Remove the member (kick, leave) and optionally record a ban, at once. A ban of a
        non-member is recorded too; the removed member (or None) is returned."""

        async def work(conn: AsyncConnection) -> Member | None:
            found = await members_tx(conn, guild_id, [user_id])
            owner = await conn.scalar(select(guilds.c.owner_id).where(guilds.c.id == guild_id))
            if owner == user_id:
                raise Conflict("the owner cannot be removed; transfer ownership first")
            await end_membership_tx(conn, guild_id, user_id)
            if ban is not None:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(bans).values(
                                guild_id=ban.guild_id,
                                user_id=ban.user_id,
                                reason=ban.reason,
                                moderator_id=ban.moderator_id,
                                created_at=ban.created_at,
                            )
                        )
                except IntegrityError as exc:
                    raise Conflict("this user is already banned") from exc
            elif not found:
                raise NotFound("member not found")
            return found[0] if found else None

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_ban(
        self, guild_id: Snowflake, user_id: Snowflake, *, events: EventsOf[Ban], audit: AuditOf[Ban]
    ) -> Ban:
        async def work(conn: AsyncConnection) -> Ban:
            row = (
                await conn.execute(
                    delete(bans)
                    .where(and_(bans.c.guild_id == guild_id, bans.c.user_id == user_id))
                    .returning(bans)
                )
            ).first()
            if row is None:
                raise NotFound("ban not found")
            return ban_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)
