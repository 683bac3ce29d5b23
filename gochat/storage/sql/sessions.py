"""Sessions and refresh-token families in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import ClientInfo, RefreshOutcome, Session
from gochat.ids import Snowflake
from gochat.storage import EventsOf
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import refresh_tokens, sessions, users


async def revoke_sessions_tx(
    conn: AsyncConnection, *, user_id: Snowflake, now: datetime, keep: Snowflake | None = None
) -> int:
    condition = and_(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
    if keep is not None:
        condition = and_(condition, sessions.c.id != keep)
    result = await conn.execute(update(sessions).where(condition).values(revoked_at=now))
    return result.rowcount


class SqlSessionStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def create_session(
        self,
        *,
        session_id: Snowflake,
        user_id: Snowflake,
        refresh_digest: str,
        refresh_expires_at: datetime,
        client: ClientInfo,
        now: datetime,
    ) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    id=session_id,
                    user_id=user_id,
                    created_at=now,
                    client_ip=client.ip[:64],
                    user_agent=client.user_agent[:512],
                )
            )
            await conn.execute(
                refresh_tokens.insert().values(
                    digest=refresh_digest, session_id=session_id, expires_at=refresh_expires_at
                )
            )

    async def get_session(self, session_id: Snowflake) -> Session | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        sessions.c.id,
                        sessions.c.user_id,
                        sessions.c.created_at,
                        sessions.c.revoked_at,
                        users.c.disabled,
                    )
                    .join(users, users.c.id == sessions.c.user_id)
                    .where(sessions.c.id == session_id)
                )
            ).first()
        if row is None:
            return None
        return Session(
            Snowflake(row.id),
            Snowflake(row.user_id),
            row.created_at,
            row.revoked_at,
            user_disabled=bool(row.disabled),
        )

    async def rotate_refresh_token(
        self,
        *,
        old_digest: str,
        new_digest: str,
        new_expires_at: datetime,
        now: datetime,
        events: EventsOf[RefreshOutcome],
    ) -> RefreshOutcome:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    select(
                        refresh_tokens.c.session_id,
                        refresh_tokens.c.expires_at,
                        sessions.c.user_id,
                        sessions.c.revoked_at,
                        users.c.disabled,
                    )
                    .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
                    .join(users, users.c.id == sessions.c.user_id)
                    .where(refresh_tokens.c.digest == old_digest)
                )
            ).first()
            if row is None:
                return RefreshOutcome("unknown")
            session_id, user_id = Snowflake(row.session_id), Snowflake(row.user_id)
            if row.revoked_at is not None or row.disabled:
                return RefreshOutcome("revoked", session_id, user_id)
            if row.expires_at <= now:
                return RefreshOutcome("expired", session_id, user_id)
            rotated = await conn.execute(
                update(refresh_tokens)
                .where(
                    and_(
                        refresh_tokens.c.digest == old_digest, refresh_tokens.c.rotated_at.is_(None)
                    )
                )
                .values(rotated_at=now)
            )
            if rotated.rowcount != 1:
                # A token that was already exchanged is being replayed: assume it was stolen and
                # end the whole family, so neither the thief nor the owner keeps using it.
                await conn.execute(
                    update(sessions)
                    .where(and_(sessions.c.id == session_id, sessions.c.revoked_at.is_(None)))
                    .values(revoked_at=now)
                )
                outcome = RefreshOutcome("reused", session_id, user_id)
            else:
                await conn.execute(
                    refresh_tokens.insert().values(
                        digest=new_digest, session_id=session_id, expires_at=new_expires_at
                    )
                )
                outcome = RefreshOutcome("rotated", session_id, user_id)
            await outbox_sql.append_tx(conn, events(outcome))
            return outcome

    async def revoke_session(
        self, session_id: Snowflake, *, now: datetime, events: EventsOf[Snowflake]
    ) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                update(sessions)
                .where(and_(sessions.c.id == session_id, sessions.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
            if result.rowcount == 1:
                await outbox_sql.append_tx(conn, events(session_id))
            return bool(result.rowcount == 1)

    async def revoke_all_sessions(
        self, user_id: Snowflake, *, now: datetime, events: EventsOf[int]
    ) -> int:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            count = await revoke_sessions_tx(conn, user_id=user_id, now=now)
            await outbox_sql.append_tx(conn, events(count))
            return count
