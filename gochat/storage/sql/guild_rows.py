"""How guild-scoped state maps to rows, and the transaction every change of it runs in: it
first locks the guild row, then writes the outbox events and audit entries with the change."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, delete, insert, select
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
from gochat.errors import NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import (
    audit_log,
    channel_directory,
    channel_overwrites,
    channels,
    guilds,
    member_roles,
    members,
    thread_members,
)
from gochat.timestamps import json_default

T = TypeVar("T")


def guild_of(row: Any) -> Guild:
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


def channel_of(row: Any) -> Channel:
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
        user_limit=row.user_limit,
        rate_limit_per_user=row.rate_limit_per_user,
        nsfw=bool(row.nsfw),
        default_auto_archive_minutes=row.default_auto_archive_minutes,
        owner_id=None if row.owner_id is None else Snowflake(row.owner_id),
        origin_message_id=(
            None if row.origin_message_id is None else Snowflake(row.origin_message_id)
        ),
        auto_archive_minutes=row.auto_archive_minutes,
        archived=bool(row.archived),
        archived_at=row.archived_at,
        locked=bool(row.locked),
    )


def role_of(row: Any) -> Role:
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


def overwrite_of(row: Any) -> Overwrite:
    return Overwrite(
        channel_id=Snowflake(row.channel_id),
        target_type=row.target_type,
        target_id=Snowflake(row.target_id),
        allow=int(row.allow),
        deny=int(row.deny),
    )


def ban_of(row: Any) -> Ban:
    return Ban(
        guild_id=Snowflake(row.guild_id),
        user_id=Snowflake(row.user_id),
        reason=row.reason,
        moderator_id=Snowflake(row.moderator_id),
        created_at=row.created_at,
    )


def invite_of(row: Any) -> Invite:
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


def emoji_of(row: Any) -> Emoji:
    return Emoji(
        id=Snowflake(row.id),
        guild_id=Snowflake(row.guild_id),
        name=row.name,
        creator_id=Snowflake(row.creator_id),
        animated=bool(row.animated),
        created_at=row.created_at,
        image_id=None if row.image_id is None else Snowflake(row.image_id),
    )


def audit_of(row: Any) -> AuditEntry:
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


async def members_tx(
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
            voice_mute=bool(r.voice_mute),
            voice_deaf=bool(r.voice_deaf),
        )
        for r in rows
    ]


async def end_membership_tx(conn: AsyncConnection, guild_id: Snowflake, user_id: Snowflake) -> None:
    """Everything of one member in one guild goes with the membership: roles, member
    overwrites, thread memberships and the member row (kick, ban, leave, account deletion).
    Every statement names the guild, so each stays on one Citus shard."""
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
        delete(thread_members).where(
            and_(thread_members.c.guild_id == guild_id, thread_members.c.user_id == user_id)
        )
    )
    await conn.execute(
        delete(members).where(and_(members.c.guild_id == guild_id, members.c.user_id == user_id))
    )


async def append_audit_tx(conn: AsyncConnection, entries: Sequence[AuditEntry]) -> None:
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


def role_values(role: Role) -> dict[str, Any]:
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


async def insert_channel_tx(conn: AsyncConnection, channel: Channel) -> None:
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
            user_limit=channel.user_limit,
            rate_limit_per_user=channel.rate_limit_per_user,
            nsfw=channel.nsfw,
            default_auto_archive_minutes=channel.default_auto_archive_minutes,
            owner_id=channel.owner_id,
            origin_message_id=channel.origin_message_id,
            auto_archive_minutes=channel.auto_archive_minutes,
            archived=channel.archived,
            archived_at=channel.archived_at,
            locked=channel.locked,
        )
    )
    await conn.execute(
        insert(channel_directory).values(channel_id=channel.id, guild_id=channel.guild_id)
    )


def no_audit(_: object) -> Sequence[AuditEntry]:
    return ()


class GuildStoreBase:
    """The engines, and the locked transaction that every guild-scoped change runs in."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def _mutate(
        self,
        guild_id: Snowflake,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        events: EventsOf[T],
        audit: AuditOf[T] = no_audit,
    ) -> T:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            locked = await conn.scalar(
                select(guilds.c.id).where(guilds.c.id == guild_id).with_for_update()
            )
            if locked is None:
                raise NotFound("guild not found")
            result = await work(conn)
            await outbox_sql.append_tx(conn, events(result))
            await append_audit_tx(conn, audit(result))
            return result
