"""Guild invites in SQL: listing, creating, revoking and accepting them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import Invite
from gochat.errors import NotFound
from gochat.ids import Snowflake
from gochat.storage import AuditOf, EventsOf, InviteAcceptance
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.guild_rows import GuildStoreBase, invite_of, members_tx
from gochat.storage.sql.tables import bans, invites, members


class GuildInvitesMixin(GuildStoreBase):
    """Invites and joining through them."""

    async def get_invite(self, code: str) -> Invite | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(invites).where(invites.c.code == code))).first()
        return None if row is None else invite_of(row)

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
            return [invite_of(r) for r in rows]

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
            return invite_of(row)

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
            invite = invite_of(row)
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
            existing = await members_tx(conn, invite.guild_id, [user_id])
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
                member = (await members_tx(conn, invite.guild_id, [user_id]))[0]
                return InviteAcceptance("already_member", invite, member)
            member = (await members_tx(conn, invite.guild_id, [user_id]))[0]
            outcome = InviteAcceptance("joined", invite, member)
            await outbox_sql.append_tx(conn, events(outcome))
            return outcome
