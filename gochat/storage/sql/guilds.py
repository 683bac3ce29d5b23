"""Guild-scoped state in SQL: guilds, channels, roles, members, overwrites, bans, invites,
emoji and the audit log.

Every change runs in one transaction that first locks the guild row (FOR UPDATE on PostgreSQL;
SQLite's writer already holds the database lock), so checks that span rows, such as role
positions, emoji caps or channel order, cannot race. Outbox events and audit entries are written
in the same transaction as the change they describe.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.permissions import Overwrite
from gochat.domain.records import (
    AuditEntry,
    Ban,
    Channel,
    ChannelType,
    Emoji,
    Guild,
    Invite,
    Member,
    Role,
)
from gochat.errors import BadUserInput, Conflict, NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf, GuildAccessData, InviteAcceptance
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect, violated_unique
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
    users,
)
from gochat.timestamps import json_default

T = TypeVar("T")


def _guild(row: Any) -> Guild:
    return Guild(
        id=Snowflake(row.id),
        name=row.name,
        owner_id=Snowflake(row.owner_id),
        system_channel_id=None
        if row.system_channel_id is None
        else Snowflake(row.system_channel_id),
        created_at=row.created_at,
        icon_id=None if row.icon_id is None else Snowflake(row.icon_id),
        banner_id=None if row.banner_id is None else Snowflake(row.banner_id),
    )


def _channel(row: Any) -> Channel:
    return Channel(
        id=Snowflake(row.id),
        guild_id=Snowflake(row.guild_id),
        type=ChannelType(row.type),
        name=row.name,
        topic=row.topic,
        parent_id=None if row.parent_id is None else Snowflake(row.parent_id),
        position=row.position,
        private=bool(row.private),
        voice_region=row.voice_region,
        created_at=row.created_at,
    )


def _role(row: Any) -> Role:
    return Role(
        id=Snowflake(row.id),
        guild_id=Snowflake(row.guild_id),
        name=row.name,
        color=row.color,
        permissions=int(row.permissions),
        position=row.position,
        hoist=bool(row.hoist),
        mentionable=bool(row.mentionable),
        created_at=row.created_at,
    )


def _overwrite(row: Any) -> Overwrite:
    return Overwrite(
        channel_id=Snowflake(row.channel_id),
        target_type=row.target_type,
        target_id=Snowflake(row.target_id),
        allow=int(row.allow),
        deny=int(row.deny),
    )


def _ban(row: Any) -> Ban:
    return Ban(
        guild_id=Snowflake(row.guild_id),
        user_id=Snowflake(row.user_id),
        reason=row.reason,
        moderator_id=Snowflake(row.moderator_id),
        created_at=row.created_at,
    )


def _invite(row: Any) -> Invite:
    return Invite(
        code=row.code,
        guild_id=Snowflake(row.guild_id),
        channel_id=Snowflake(row.channel_id),
        inviter_id=Snowflake(row.inviter_id),
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
    )


def _emoji(row: Any) -> Emoji:
    return Emoji(
        id=Snowflake(row.id),
        guild_id=Snowflake(row.guild_id),
        name=row.name,
        creator_id=Snowflake(row.creator_id),
        animated=bool(row.animated),
        created_at=row.created_at,
        image_id=None if row.image_id is None else Snowflake(row.image_id),
    )


def _audit(row: Any) -> AuditEntry:
    return AuditEntry(
        id=Snowflake(row.id),
        guild_id=Snowflake(row.guild_id),
        actor_id=Snowflake(row.actor_id),
        action=row.action,
        target_type=row.target_type,
        target_id=None if row.target_id is None else Snowflake(row.target_id),
        changes=json.loads(row.changes),
        reason=row.reason,
        created_at=row.created_at,
    )


async def _members_tx(
    conn: AsyncConnection, guild_id: Snowflake, user_ids: Sequence[Snowflake] | None = None
) -> list[Member]:
    query = select(members).where(members.c.guild_id == guild_id)
    role_query = select(member_roles.c.user_id, member_roles.c.role_id).where(
        member_roles.c.guild_id == guild_id
    )
    if user_ids is not None:
        query = query.where(members.c.user_id.in_(list(user_ids)))
        role_query = role_query.where(member_roles.c.user_id.in_(list(user_ids)))
    rows = (await conn.execute(query)).all()
    by_user: dict[int, list[Snowflake]] = {}
    for r in await conn.execute(role_query.order_by(member_roles.c.role_id)):
        by_user.setdefault(r.user_id, []).append(Snowflake(r.role_id))
    return [
        Member(
            guild_id=Snowflake(r.guild_id),
            user_id=Snowflake(r.user_id),
            nickname=r.nickname,
            joined_at=r.joined_at,
            role_ids=tuple(by_user.get(r.user_id, ())),
            timeout_until=r.timeout_until,
        )
        for r in rows
    ]


async def _append_audit_tx(conn: AsyncConnection, entries: Sequence[AuditEntry]) -> None:
    if not entries:
        return
    await conn.execute(
        insert(audit_log),
        [
            {
                "guild_id": e.guild_id,
                "id": e.id,
                "actor_id": e.actor_id,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "changes": json.dumps(e.changes, default=json_default),
                "reason": e.reason,
                "created_at": e.created_at,
            }
            for e in entries
        ],
    )


def _no_audit(_: object) -> Sequence[AuditEntry]:
    return ()


class SqlGuildStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def _mutate(
        self,
        guild_id: Snowflake,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        events: EventsOf[T],
        audit: AuditOf[T] = _no_audit,
    ) -> T:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            locked = await conn.scalar(
                select(guilds.c.id).where(guilds.c.id == guild_id).with_for_update()
            )
            if locked is None:
                raise NotFound("guild not found")
            result = await work(conn)
            await outbox_sql.append_tx(conn, events(result))
            await _append_audit_tx(conn, audit(result))
            return result

    # --- reads -------------------------------------------------------------------------------

    async def get_guild(self, guild_id: Snowflake) -> Guild | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(guilds).where(guilds.c.id == guild_id))).first()
        return None if row is None else _guild(row)

    async def list_guilds_of_user(self, user_id: Snowflake) -> list[Guild]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(guilds)
                .join(members, members.c.guild_id == guilds.c.id)
                .where(members.c.user_id == user_id)
                .order_by(members.c.joined_at, guilds.c.id)
            )
            return [_guild(r) for r in rows]

    async def load_access(self, guild_id: Snowflake, user_id: Snowflake) -> GuildAccessData | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(guilds).where(guilds.c.id == guild_id))).first()
            if row is None:
                return None
            found = await _members_tx(conn, guild_id, [user_id])
            role_rows = await conn.execute(select(roles).where(roles.c.guild_id == guild_id))
            ow_rows = await conn.execute(
                select(channel_overwrites).where(channel_overwrites.c.guild_id == guild_id)
            )
            channel_rows = await conn.execute(
                select(channels).where(channels.c.guild_id == guild_id)
            )
            return GuildAccessData(
                guild=_guild(row),
                member=found[0] if found else None,
                roles={Snowflake(r.id): _role(r) for r in role_rows},
                overwrites=[_overwrite(r) for r in ow_rows],
                channels={Snowflake(r.id): _channel(r) for r in channel_rows},
            )

    async def channel_guild(self, channel_id: Snowflake) -> Snowflake | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            value = await conn.scalar(
                select(channel_directory.c.guild_id).where(
                    channel_directory.c.channel_id == channel_id
                )
            )
        return None if value is None else Snowflake(value)

    async def get_member(self, guild_id: Snowflake, user_id: Snowflake) -> Member | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            found = await _members_tx(conn, guild_id, [user_id])
        return found[0] if found else None

    async def get_members(
        self, guild_id: Snowflake, user_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Member]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return {m.user_id: m for m in await _members_tx(conn, guild_id, user_ids)}

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
            found = {m.user_id: m for m in await _members_tx(conn, guild_id, ids)}
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
            return [_ban(r) for r in rows]

    async def get_invite(self, code: str) -> Invite | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(invites).where(invites.c.code == code))).first()
        return None if row is None else _invite(row)

    async def list_invites(
        self, guild_id: Snowflake, *, channel_id: Snowflake | None, now: datetime
    ) -> list[Invite]:
        query = select(invites).where(
            and_(
                invites.c.guild_id == guild_id,
                invites.c.revoked_at.is_(None),
                or_(invites.c.expires_at.is_(None), invites.c.expires_at > now),
                or_(invites.c.max_uses == 0, invites.c.uses < invites.c.max_uses),
            )
        )
        if channel_id is not None:
            query = query.where(invites.c.channel_id == channel_id)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(query.order_by(invites.c.created_at))
            return [_invite(r) for r in rows]

    async def list_emoji(self, guild_id: Snowflake) -> list[Emoji]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(emoji).where(emoji.c.guild_id == guild_id).order_by(emoji.c.id)
            )
            return [_emoji(r) for r in rows]

    async def get_emoji_by_ids(self, emoji_ids: Sequence[Snowflake]) -> dict[Snowflake, Emoji]:
        if not emoji_ids:
            return {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(select(emoji).where(emoji.c.id.in_(list(emoji_ids))))
            return {Snowflake(r.id): _emoji(r) for r in rows}

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
            return [_audit(r) for r in rows]

    # --- guilds ------------------------------------------------------------------------------

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
            await conn.execute(insert(roles).values(**_role_values(everyone)))
            for channel in channels_:
                await _insert_channel_tx(conn, channel)
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
            return _guild(row)

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
            return _guild(row)

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

    # --- channels ----------------------------------------------------------------------------

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
            await _insert_channel_tx(conn, channel)
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
            return _channel(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def delete_channel(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        *,
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel:
        async def work(conn: AsyncConnection) -> Channel:
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
            return _channel(row)

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
            rows = await conn.execute(select(channels).where(channels.c.guild_id == guild_id))
            return [_channel(r) for r in rows]

        return await self._mutate(guild_id, work, events=events, audit=audit)

    # --- roles -------------------------------------------------------------------------------

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
            await conn.execute(insert(roles).values(**_role_values(placed)))
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
            return _role(row)

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
            return _role(row)

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
            return [_role(r) for r in rows]

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
            found = await _members_tx(conn, guild_id, [user_id])
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
            return (await _members_tx(conn, guild_id, [user_id]))[0]

        return await self._mutate(guild_id, work, events=events, audit=audit)

    # --- overwrites --------------------------------------------------------------------------

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
            return _overwrite(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    # --- members -----------------------------------------------------------------------------

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
            return (await _members_tx(conn, guild_id, [user_id]))[0]

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
            found = await _members_tx(conn, guild_id, [user_id])
            owner = await conn.scalar(select(guilds.c.owner_id).where(guilds.c.id == guild_id))
            if owner == user_id:
                raise Conflict("the owner cannot be removed; transfer ownership first")
            await conn.execute(
                delete(member_roles).where(
                    and_(member_roles.c.guild_id == guild_id, member_roles.c.user_id == user_id)
                )
            )
            await conn.execute(
                delete(channel_overwrites).where(
                    and_(
                        channel_overwrites.c.guild_id == guild_id,
                        channel_overwrites.c.target_type == "member",
                        channel_overwrites.c.target_id == user_id,
                    )
                )
            )
            await conn.execute(
                delete(members).where(
                    and_(members.c.guild_id == guild_id, members.c.user_id == user_id)
                )
            )
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
            return _ban(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    # --- invites -----------------------------------------------------------------------------

    async def create_invite(
        self, invite: Invite, *, events: EventsOf[Invite], audit: AuditOf[Invite]
    ) -> Invite:
        async def work(conn: AsyncConnection) -> Invite:
            await conn.execute(
                insert(invites).values(
                    code=invite.code,
                    guild_id=invite.guild_id,
                    channel_id=invite.channel_id,
                    inviter_id=invite.inviter_id,
                    max_uses=invite.max_uses,
                    uses=0,
                    expires_at=invite.expires_at,
                    created_at=invite.created_at,
                )
            )
            return invite

        return await self._mutate(invite.guild_id, work, events=events, audit=audit)

    async def revoke_invite(
        self,
        guild_id: Snowflake,
        code: str,
        *,
        now: datetime,
        events: EventsOf[Invite],
        audit: AuditOf[Invite],
    ) -> Invite:
        async def work(conn: AsyncConnection) -> Invite:
            row = (
                await conn.execute(
                    update(invites)
                    .where(
                        and_(
                            invites.c.guild_id == guild_id,
                            invites.c.code == code,
                            invites.c.revoked_at.is_(None),
                        )
                    )
                    .values(revoked_at=now)
                    .returning(invites)
                )
            ).first()
            if row is None:
                raise NotFound("invite not found")
            return _invite(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)

    async def accept_invite(
        self,
        code: str,
        user_id: Snowflake,
        *,
        now: datetime,
        events: EventsOf[InviteAcceptance],
    ) -> InviteAcceptance:
        """Join through an invite. Taking a use is one conditional UPDATE, so two users racing
        for the last use cannot both get it; a failed join gives the use back (rollback)."""
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            row = (await conn.execute(select(invites).where(invites.c.code == code))).first()
            if row is None:
                return InviteAcceptance("unknown", None, None)
            invite = _invite(row)
            if invite.revoked_at is not None:
                return InviteAcceptance("revoked", invite, None)
            if invite.expires_at is not None and invite.expires_at <= now:
                return InviteAcceptance("expired", invite, None)
            banned = await conn.scalar(
                select(bans.c.user_id).where(
                    and_(bans.c.guild_id == invite.guild_id, bans.c.user_id == user_id)
                )
            )
            if banned is not None:
                return InviteAcceptance("banned", invite, None)
            existing = await _members_tx(conn, invite.guild_id, [user_id])
            if existing:
                return InviteAcceptance("already_member", invite, existing[0])
            taken = await conn.execute(
                update(invites)
                .where(
                    and_(
                        invites.c.code == code,
                        invites.c.revoked_at.is_(None),
                        or_(invites.c.max_uses == 0, invites.c.uses < invites.c.max_uses),
                    )
                )
                .values(uses=invites.c.uses + 1)
            )
            if taken.rowcount != 1:
                return InviteAcceptance("used_up", invite, None)
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(members).values(
                            guild_id=invite.guild_id, user_id=user_id, joined_at=now
                        )
                    )
            except IntegrityError:
                # The same user joined concurrently: give the use back.
                await conn.execute(
                    update(invites).where(invites.c.code == code).values(uses=invites.c.uses - 1)
                )
                member = (await _members_tx(conn, invite.guild_id, [user_id]))[0]
                return InviteAcceptance("already_member", invite, member)
            member = (await _members_tx(conn, invite.guild_id, [user_id]))[0]
            outcome = InviteAcceptance("joined", invite, member)
            await outbox_sql.append_tx(conn, events(outcome))
            return outcome

    # --- emoji -------------------------------------------------------------------------------

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
            return _emoji(row)

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
            return _emoji(row)

        return await self._mutate(guild_id, work, events=events, audit=audit)


def _role_values(role: Role) -> dict[str, Any]:
    return {
        "guild_id": role.guild_id,
        "id": role.id,
        "name": role.name,
        "color": role.color,
        "permissions": role.permissions,
        "position": role.position,
        "hoist": role.hoist,
        "mentionable": role.mentionable,
        "created_at": role.created_at,
    }


async def _insert_channel_tx(conn: AsyncConnection, channel: Channel) -> None:
    await conn.execute(
        insert(channels).values(
            guild_id=channel.guild_id,
            id=channel.id,
            type=int(channel.type),
            name=channel.name,
            topic=channel.topic,
            parent_id=channel.parent_id,
            position=channel.position,
            private=channel.private,
            voice_region=channel.voice_region,
            created_at=channel.created_at,
        )
    )
    await conn.execute(
        insert(channel_directory).values(channel_id=channel.id, guild_id=channel.guild_id)
    )


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
