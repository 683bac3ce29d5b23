"""Guild-scoped state in SQL: guilds, channels, roles, members, overwrites, bans, invites,
emoji and the audit log.

Every change runs in one transaction that first locks the guild row (FOR UPDATE on PostgreSQL;
SQLite's writer already holds the database lock), so checks that span rows, such as role
positions, emoji caps or channel order, cannot race. Outbox events and audit entries are written
in the same transaction as the change they describe.

The store is composed of one mixin per area (channels, roles, members, invites, emoji); the
guild itself and its audit log are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import AuditEntry, Channel, Guild, Member, Role
from gochat.errors import Conflict, NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf, GuildAccessData
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.guild_channels import GuildChannelsMixin
from gochat.storage.sql.guild_emoji import GuildEmojiMixin
from gochat.storage.sql.guild_invites import GuildInvitesMixin
from gochat.storage.sql.guild_members import GuildMembersMixin
from gochat.storage.sql.guild_roles import GuildRolesMixin
from gochat.storage.sql.guild_rows import (
    audit_of,
    channel_of,
    guild_of,
    insert_channel_tx,
    members_tx,
    overwrite_of,
    role_of,
    role_values,
)
from gochat.storage.sql.guild_threads import GuildThreadsMixin
from gochat.storage.sql.tables import (
    audit_log,
    bans,
    channel_directory,
    channel_overwrites,
    channels,
    emoji,
    guilds,
    invites,
    member_roles,
    members,
    roles,
)


class SqlGuildStore(
    GuildChannelsMixin,
    GuildThreadsMixin,
    GuildRolesMixin,
    GuildMembersMixin,
    GuildInvitesMixin,
    GuildEmojiMixin,
):
    async def get_guild(self, guild_id: Snowflake) -> Guild | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(guilds).where(guilds.c.id == guild_id))).first()
        return None if row is None else guild_of(row)

    async def list_guilds_of_user(self, user_id: Snowflake) -> list[Guild]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(guilds)
                .join(members, members.c.guild_id == guilds.c.id)
                .where(members.c.user_id == user_id)
                .order_by(members.c.joined_at, guilds.c.id)
            )
            return [guild_of(r) for r in rows]

    async def load_access(self, guild_id: Snowflake, user_id: Snowflake) -> GuildAccessData | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(guilds).where(guilds.c.id == guild_id))).first()
            if row is None:
                return None
            found = await members_tx(conn, guild_id, [user_id])
            role_rows = await conn.execute(select(roles).where(roles.c.guild_id == guild_id))
            ow_rows = await conn.execute(
                select(channel_overwrites).where(channel_overwrites.c.guild_id == guild_id)
            )
            channel_rows = await conn.execute(
                select(channels).where(channels.c.guild_id == guild_id)
            )
            return GuildAccessData(
                guild=guild_of(row),
                member=found[0] if found else None,
                roles={Snowflake(r.id): role_of(r) for r in role_rows},
                overwrites=[overwrite_of(r) for r in ow_rows],
                channels={Snowflake(r.id): channel_of(r) for r in channel_rows},
            )

    async def channel_guild(self, channel_id: Snowflake) -> Snowflake | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            value = await conn.scalar(
                select(channel_directory.c.guild_id).where(
                    channel_directory.c.channel_id == channel_id
                )
            )
        return None if value is None else Snowflake(value)

    async def list_audit(
        self,
        guild_id: Snowflake,
        *,
        action: str | None,
        actor_id: Snowflake | None,
        before_id: Snowflake | None,
        limit: int,
    ) -> list[AuditEntry]:
        query = select(audit_log).where(audit_log.c.guild_id == guild_id)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if actor_id is not None:
            query = query.where(audit_log.c.actor_id == actor_id)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))
            return [audit_of(r) for r in rows]

    async def create_guild(
        self,
        *,
        guild: Guild,
        everyone: Role,
        channels_: Sequence[Channel],
        owner: Member,
        events: EventsOf[Guild],
    ) -> Guild:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                insert(guilds).values(
                    id=guild.id,
                    name=guild.name,
                    owner_id=guild.owner_id,
                    system_channel_id=guild.system_channel_id,
                    created_at=guild.created_at,
                )
            )
            await conn.execute(insert(roles).values(**role_values(everyone)))
            for channel in channels_:
                await insert_channel_tx(conn, channel)
            await conn.execute(
                insert(members).values(
                    guild_id=owner.guild_id, user_id=owner.user_id, joined_at=owner.joined_at
                )
            )
            await outbox_sql.append_tx(conn, events(guild))
            return guild

    async def update_guild(
        self,
        guild_id: Snowflake,
        values: dict[str, Any],
        *,
        events: EventsOf[Guild],
        audit: AuditOf[Guild],
    ) -> Guild:
        async def work(conn: AsyncConnection) -> Guild:
            row = (
                await conn.execute(
                    update(guilds).where(guilds.c.id == guild_id).values(**values).returning(guilds)
                )
            ).one()
            return guild_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def transfer_ownership(
        self,
        guild_id: Snowflake,
        *,
        from_user: Snowflake,
        to_user: Snowflake,
        events: EventsOf[Guild],
        audit: AuditOf[Guild],
    ) -> Guild:
        async def work(conn: AsyncConnection) -> Guild:
            is_member = await conn.scalar(
                select(members.c.user_id).where(
                    and_(members.c.guild_id == guild_id, members.c.user_id == to_user)
                )
            )
            if is_member is None:
                raise NotFound("member not found")
            row = (
                await conn.execute(
                    update(guilds)
                    .where(and_(guilds.c.id == guild_id, guilds.c.owner_id == from_user))
                    .values(owner_id=to_user)
                    .returning(guilds)
                )
            ).first()
            if row is None:
                raise Conflict("ownership changed meanwhile")
            return guild_of(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_guild(self, guild_id: Snowflake, *, events: EventsOf[Snowflake]) -> None:
        async def work(conn: AsyncConnection) -> Snowflake:
            await conn.execute(
                delete(channel_directory).where(channel_directory.c.guild_id == guild_id)
            )
            for table in (member_roles, channel_overwrites, invites):
                await conn.execute(delete(table).where(table.c.guild_id == guild_id))
            for table in (audit_log, emoji, bans, members, roles, channels):
                await conn.execute(delete(table).where(table.c.guild_id == guild_id))
            await conn.execute(delete(guilds).where(guilds.c.id == guild_id))
            return guild_id

        await self._mutate(guild_id, work, events=events)
