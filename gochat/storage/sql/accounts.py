"""Accounts in SQL: users, credentials, one-time tokens and settings documents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import (
    CHANGE_EMAIL,
    CONFIRM_EMAIL,
    RESET_PASSWORD,
    Account,
    AccountRemoval,
    Credentials,
    EmailChange,
    User,
    UserSettings,
)
from gochat.errors import Conflict, OwnsGuilds
from gochat.ids import Snowflake
from gochat.storage import EventsOf
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect, violated_unique
from gochat.storage.sql.guild_rows import end_membership_tx
from gochat.storage.sql.sessions import revoke_sessions_tx
from gochat.storage.sql.tables import (
    friend_requests,
    friendships,
    guilds,
    members,
    one_time_tokens,
    user_settings,
    users,
)

_USER_COLUMNS = (
    users.c.id,
    users.c.handle,
    users.c.display_name,
    users.c.created_at,
    users.c.avatar_id,
    users.c.deleted_at,
)


def _user(row: Any) -> User:
    return User(
        id=Snowflake(row.id),
        handle=row.handle,
        display_name=row.display_name,
        created_at=row.created_at,
        avatar_id=None if row.avatar_id is None else Snowflake(row.avatar_id),
        deleted=row.deleted_at is not None,
    )


# Not an argon2 hash: no password ever verifies against it.
_NO_PASSWORD = "!"  # noqa: S105


class SqlAccountStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def create_account(
        self,
        *,
        user: User,
        email: str,
        password_hash: str,
        confirmation_digest: str,
        confirmation_expires_at: datetime,
    ) -> None:
        try:
            async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
                await conn.execute(
                    users.insert().values(
                        id=user.id,
                        handle=user.handle,
                        display_name=user.display_name,
                        email=email,
                        password_hash=password_hash,
                        disabled=False,
                        created_at=user.created_at,
                    )
                )
                await conn.execute(
                    user_settings.insert().values(user_id=user.id, version=0, data="{}")
                )
                await conn.execute(
                    one_time_tokens.insert().values(
                        digest=confirmation_digest,
                        user_id=user.id,
                        purpose=CONFIRM_EMAIL,
                        expires_at=confirmation_expires_at,
                    )
                )
        except IntegrityError as exc:
            column = violated_unique(exc, "email", "handle")
            if column == "email":
                raise Conflict("an account with this email already exists") from exc
            if column == "handle":
                raise Conflict("this handle is taken") from exc
            raise

    async def get_user(self, user_id: Snowflake) -> User | None:
        return (await self.get_users([user_id])).get(user_id)

    async def get_users(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, User]:
        if not user_ids:
            return {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(select(*_USER_COLUMNS).where(users.c.id.in_(set(user_ids))))
            return {Snowflake(r.id): _user(r) for r in rows}

    async def get_user_by_handle(self, handle: str) -> User | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (
                await conn.execute(select(*_USER_COLUMNS).where(users.c.handle == handle))
            ).first()
        return None if row is None else _user(row)

    async def get_account(self, user_id: Snowflake) -> Account | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(*_USER_COLUMNS, users.c.email, users.c.email_verified_at).where(
                        users.c.id == user_id
                    )
                )
            ).first()
        if row is None:
            return None
        return Account(
            user=_user(row), email=row.email, email_verified=row.email_verified_at is not None
        )

    async def get_credentials(self, email: str) -> Credentials | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(users.c.id, users.c.password_hash, users.c.disabled).where(
                        users.c.email == email
                    )
                )
            ).first()
        if row is None:
            return None
        return Credentials(Snowflake(row.id), row.password_hash, bool(row.disabled))

    async def update_profile(
        self,
        user_id: Snowflake,
        *,
        display_name: str | None,
        avatar_id: Snowflake | None = None,
        events: EventsOf[User],
    ) -> User | None:
        values: dict[str, Any] = {}
        if display_name is not None:
            values["display_name"] = display_name
        if avatar_id is not None:
            values["avatar_id"] = avatar_id
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(users)
                    .where(users.c.id == user_id)
                    .values(**values)
                    .returning(*_USER_COLUMNS)
                )
            ).first()
            if row is None:
                return None
            user = _user(row)
            await outbox_sql.append_tx(conn, events(user))
            return user

    async def add_one_time_token(
        self,
        *,
        user_id: Snowflake,
        purpose: str,
        digest: str,
        expires_at: datetime,
        new_email: str | None = None,
    ) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                one_time_tokens.delete().where(
                    and_(
                        one_time_tokens.c.user_id == user_id,
                        one_time_tokens.c.purpose == purpose,
                        one_time_tokens.c.used_at.is_(None),
                    )
                )
            )
            await conn.execute(
                one_time_tokens.insert().values(
                    digest=digest,
                    user_id=user_id,
                    purpose=purpose,
                    expires_at=expires_at,
                    new_email=new_email,
                )
            )

    async def confirm_email(self, *, digest: str, now: datetime) -> Snowflake | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            user_id = await _consume_token_tx(conn, digest, CONFIRM_EMAIL, now)
            if user_id is not None:
                await conn.execute(
                    update(users)
                    .where(and_(users.c.id == user_id, users.c.email_verified_at.is_(None)))
                    .values(email_verified_at=now)
                )
            return user_id

    async def reset_password(
        self, *, digest: str, password_hash: str, now: datetime, events: EventsOf[Snowflake]
    ) -> Snowflake | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            user_id = await _consume_token_tx(conn, digest, RESET_PASSWORD, now)
            if user_id is None:
                return None
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            # Receiving the reset mail proves the address, as a confirmation link would.
            await conn.execute(
                update(users)
                .where(and_(users.c.id == user_id, users.c.email_verified_at.is_(None)))
                .values(email_verified_at=now)
            )
            await revoke_sessions_tx(conn, user_id=user_id, now=now)
            await outbox_sql.append_tx(conn, events(user_id))
            return user_id

    async def get_password_hash(self, user_id: Snowflake) -> str | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            value = await conn.scalar(select(users.c.password_hash).where(users.c.id == user_id))
        return None if value is None else str(value)

    async def change_password(
        self,
        user_id: Snowflake,
        *,
        password_hash: str,
        keep_session: Snowflake,
        now: datetime,
        events: EventsOf[Snowflake],
    ) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            await revoke_sessions_tx(conn, user_id=user_id, now=now, keep=keep_session)
            await outbox_sql.append_tx(conn, events(user_id))

    async def get_settings(self, user_id: Snowflake) -> UserSettings:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (
                await conn.execute(
                    select(user_settings.c.version, user_settings.c.data).where(
                        user_settings.c.user_id == user_id
                    )
                )
            ).first()
        if row is None:
            return UserSettings(user_id=user_id, version=0, data={})
        return UserSettings(user_id=user_id, version=int(row.version), data=json.loads(row.data))

    async def replace_settings(
        self,
        user_id: Snowflake,
        *,
        data: dict[str, Any],
        expected_version: int | None,
        events: EventsOf[UserSettings],
    ) -> UserSettings:
        condition = user_settings.c.user_id == user_id
        if expected_version is not None:
            condition = and_(condition, user_settings.c.version == expected_version)
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            version = await conn.scalar(
                update(user_settings)
                .where(condition)
                .values(version=user_settings.c.version + 1, data=json.dumps(data))
                .returning(user_settings.c.version)
            )
            if version is None:
                raise Conflict("settings changed since the expected version; re-read them")
            settings = UserSettings(user_id=user_id, version=int(version), data=data)
            await outbox_sql.append_tx(conn, events(settings))
            return settings

    async def change_email(
        self, *, digest: str, now: datetime, events: EventsOf[EmailChange]
    ) -> EmailChange | None:
        try:
            async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
                row = (
                    await conn.execute(
                        update(one_time_tokens)
                        .where(
                            and_(
                                one_time_tokens.c.digest == digest,
                                one_time_tokens.c.purpose == CHANGE_EMAIL,
                                one_time_tokens.c.used_at.is_(None),
                                one_time_tokens.c.expires_at > now,
                            )
                        )
                        .values(used_at=now)
                        .returning(one_time_tokens.c.user_id, one_time_tokens.c.new_email)
                    )
                ).first()
                if row is None or row.new_email is None:
                    return None
                user_id = Snowflake(row.user_id)
                old_email = await conn.scalar(
                    select(users.c.email).where(
                        and_(users.c.id == user_id, users.c.deleted_at.is_(None))
                    )
                )
                if old_email is None:
                    return None
                await conn.execute(
                    update(users)
                    .where(users.c.id == user_id)
                    .values(email=row.new_email, email_verified_at=now)
                )
                change = EmailChange(user_id, str(old_email), str(row.new_email))
                await outbox_sql.append_tx(conn, events(change))
                return change
        except IntegrityError as exc:
            if violated_unique(exc, "email") == "email":
                raise Conflict("an account with this email already exists") from exc
            raise

    async def set_disabled(
        self, user_id: Snowflake, *, disabled: bool, now: datetime, events: EventsOf[int]
    ) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                update(users)
                .where(and_(users.c.id == user_id, users.c.deleted_at.is_(None)))
                .values(disabled=disabled)
            )
            if result.rowcount != 1:
                return False
            if disabled:
                count = await revoke_sessions_tx(conn, user_id=user_id, now=now)
                await outbox_sql.append_tx(conn, events(count))
            return True

    async def delete_account(
        self,
        user_id: Snowflake,
        *,
        placeholder: User,
        tombstone_email: str,
        now: datetime,
        events: EventsOf[AccountRemoval],
    ) -> AccountRemoval | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            owned = await conn.scalar(
                select(guilds.c.id).where(guilds.c.owner_id == user_id).limit(1)
            )
            if owned is not None:
                raise OwnsGuilds("you own guilds: transfer their ownership or delete them first")
            result = await conn.execute(
                update(users)
                .where(and_(users.c.id == user_id, users.c.deleted_at.is_(None)))
                .values(
                    handle=placeholder.handle,
                    display_name=placeholder.display_name,
                    email=tombstone_email,
                    email_verified_at=None,
                    password_hash=_NO_PASSWORD,
                    disabled=True,
                    avatar_id=None,
                    deleted_at=now,
                )
            )
            if result.rowcount != 1:
                return None
            guild_ids = tuple(
                Snowflake(g)
                for g in await conn.scalars(
                    select(members.c.guild_id).where(members.c.user_id == user_id)
                )
            )
            for guild_id in guild_ids:
                await end_membership_tx(conn, guild_id, user_id)
            friend_ids = tuple(
                Snowflake(f)
                for f in await conn.scalars(
                    select(friendships.c.friend_id).where(friendships.c.user_id == user_id)
                )
            )
            await conn.execute(
                delete(friendships).where(
                    or_(friendships.c.user_id == user_id, friendships.c.friend_id == user_id)
                )
            )
            involved = or_(friend_requests.c.from_id == user_id, friend_requests.c.to_id == user_id)
            requests = tuple(
                (Snowflake(r.from_id), Snowflake(r.to_id))
                for r in await conn.execute(
                    select(friend_requests.c.from_id, friend_requests.c.to_id).where(involved)
                )
            )
            await conn.execute(delete(friend_requests).where(involved))
            await conn.execute(delete(one_time_tokens).where(one_time_tokens.c.user_id == user_id))
            await conn.execute(
                update(user_settings)
                .where(user_settings.c.user_id == user_id)
                .values(version=user_settings.c.version + 1, data="{}")
            )
            await revoke_sessions_tx(conn, user_id=user_id, now=now)
            removal = AccountRemoval(placeholder, guild_ids, friend_ids, requests)
            await outbox_sql.append_tx(conn, events(removal))
            return removal


async def _consume_token_tx(
    conn: AsyncConnection, digest: str, purpose: str, now: datetime
) -> Snowflake | None:
    user_id = await conn.scalar(
        update(one_time_tokens)
        .where(
            and_(
                one_time_tokens.c.digest == digest,
                one_time_tokens.c.purpose == purpose,
                one_time_tokens.c.used_at.is_(None),
                one_time_tokens.c.expires_at > now,
            )
        )
        .values(used_at=now)
        .returning(one_time_tokens.c.user_id)
    )
    return None if user_id is None else Snowflake(user_id)
