"""Guild roles and their assignment to members in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import Member, Role
from gochat.errors import NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf
from gochat.storage.sql.guild_rows import GuildStoreBase, members_tx, role_of, role_values
from gochat.storage.sql.tables import channel_overwrites, member_roles, roles


class GuildRolesMixin(GuildStoreBase):
    """Roles, their order and who holds them."""

    async def create_role(
        self, role: Role, *, events: EventsOf[Role], audit: AuditOf[Role]
    ) -> Role:
        async def work(conn: AsyncConnection) -> Role:
            # New roles start at the bottom, just above @everyone, as their creator can only
            # manage roles below their own highest role.
            await conn.execute(
                update(roles)
                .where(and_(roles.c.guild_id == role.guild_id, roles.c.position >= 1))
                .values(position=roles.c.position + 1)
            )
            placed = replace(role, position=1)
            await conn.execute(insert(roles).values(**role_values(placed)))
            return placed

        return await self._mutate(role.guild_id, work, events=events, audit=audit)

    async def update_role(
        self,
        guild_id: Snowflake,
        role_id: Snowflake,
        values: dict[str, Any],
        *,
        events: EventsOf[Role],
        audit: AuditOf[Role],
    ) -> Role:
        async def work(conn: AsyncConnection) -> Role:
            row = (
                await conn.execute(
                    update(roles)
                    .where(and_(roles.c.guild_id == guild_id, roles.c.id == role_id))
                    .values(**values)
                    .returning(roles)
                )
            ).first()
            if row is None:
                raise NotFound("role not found")
            return role_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_role(
        self,
        guild_id: Snowflake,
        role_id: Snowflake,
        *,
        events: EventsOf[Role],
        audit: AuditOf[Role],
    ) -> Role:
        async def work(conn: AsyncConnection) -> Role:
            row = (
                await conn.execute(
                    delete(roles)
                    .where(and_(roles.c.guild_id == guild_id, roles.c.id == role_id))
                    .returning(roles)
                )
            ).first()
            if row is None:
                raise NotFound("role not found")
            await conn.execute(
                delete(member_roles).where(
                    and_(member_roles.c.guild_id == guild_id, member_roles.c.role_id == role_id)
                )
            )
            await conn.execute(
                delete(channel_overwrites).where(
                    and_(
                        channel_overwrites.c.guild_id == guild_id,
                        channel_overwrites.c.target_type == "role",
                        channel_overwrites.c.target_id == role_id,
                    )
                )
            )
            return role_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def set_role_positions(
        self,
        guild_id: Snowflake,
        positions: Sequence[tuple[Snowflake, int]],
        *,
        events: EventsOf[list[Role]],
        audit: AuditOf[list[Role]],
    ) -> list[Role]:
        async def work(conn: AsyncConnection) -> list[Role]:
            for role_id, position in positions:
                result = await conn.execute(
                    update(roles)
                    .where(and_(roles.c.guild_id == guild_id, roles.c.id == role_id))
                    .values(position=position)
                )
                if result.rowcount != 1:
                    raise NotFound(f"role {role_id} not found")
            rows = await conn.execute(select(roles).where(roles.c.guild_id == guild_id))
            return [role_of(r) for r in rows]

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def set_member_role(
        self,
        guild_id: Snowflake,
        user_id: Snowflake,
        role_id: Snowflake,
        *,
        present: bool,
        events: EventsOf[Member],
        audit: AuditOf[Member],
    ) -> Member:
        async def work(conn: AsyncConnection) -> Member:
            found = await members_tx(conn, guild_id, [user_id])
            if not found:
                raise NotFound("member not found")
            role_exists = await conn.scalar(
                select(roles.c.id).where(and_(roles.c.guild_id == guild_id, roles.c.id == role_id))
            )
            if role_exists is None:
                raise NotFound("role not found")
            key = and_(
                member_roles.c.guild_id == guild_id,
                member_roles.c.user_id == user_id,
                member_roles.c.role_id == role_id,
            )
            await conn.execute(delete(member_roles).where(key))
            if present:
                await conn.execute(
                    insert(member_roles).values(guild_id=guild_id, user_id=user_id, role_id=role_id)
                )
            return (await members_tx(conn, guild_id, [user_id]))[0]

        return await self._mutate(guild_id, work, events=events, audit=audit)
