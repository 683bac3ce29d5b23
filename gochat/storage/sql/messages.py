"""Messages in SQL (SQLite or PostgreSQL): the embedded default message store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError

from gochat.domain.records import Mentions, Message, MessageType
from gochat.errors import Conflict
from gochat.ids import Snowflake, created_at
from gochat.storage import EventsOf
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import message_nonces, messages


def _message(row: Any) -> Message:
    return Message(
        id=Snowflake(row.id),
        channel_id=Snowflake(row.channel_id),
        guild_id=None if row.guild_id is None else Snowflake(row.guild_id),
        author_id=Snowflake(row.author_id),
        type=MessageType(row.type),
        content=row.content,
        reference_id=None if row.reference_id is None else Snowflake(row.reference_id),
        mentions=Mentions(
            user_ids=tuple(Snowflake(i) for i in json.loads(row.mention_user_ids)),
            role_ids=tuple(Snowflake(i) for i in json.loads(row.mention_role_ids)),
            everyone=bool(row.mention_everyone),
        ),
        pinned=bool(row.pinned),
        edited_at=row.edited_at,
    )


def _mention_values(mentions: Mentions) -> dict[str, Any]:
    return {
        "mention_user_ids": json.dumps([int(i) for i in mentions.user_ids]),
        "mention_role_ids": json.dumps([int(i) for i in mentions.role_ids]),
        "mention_everyone": mentions.everyone,
    }


class SqlMessageStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def insert_once(
        self,
        message: Message,
        *,
        nonce: str | None,
        window_start: datetime,
        events: EventsOf[Message],
    ) -> tuple[Message, bool]:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            if nonce is not None:
                key = and_(
                    message_nonces.c.channel_id == message.channel_id,
                    message_nonces.c.author_id == message.author_id,
                    message_nonces.c.nonce == nonce,
                )
                # An expired nonce may be used again.
                await conn.execute(
                    delete(message_nonces).where(
                        and_(key, message_nonces.c.created_at < window_start)
                    )
                )
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            message_nonces.insert().values(
                                channel_id=message.channel_id,
                                author_id=message.author_id,
                                nonce=nonce,
                                message_id=message.id,
                                created_at=created_at(message.id),
                            )
                        )
                except IntegrityError:
                    first_id = await conn.scalar(select(message_nonces.c.message_id).where(key))
                    row = (
                        await conn.execute(
                            select(messages).where(
                                and_(
                                    messages.c.channel_id == message.channel_id,
                                    messages.c.id == first_id,
                                )
                            )
                        )
                    ).first()
                    if row is None:
                        raise Conflict(
                            "a message with this nonce was sent and then deleted"
                        ) from None
                    return _message(row), False
            await conn.execute(
                messages.insert().values(
                    channel_id=message.channel_id,
                    id=message.id,
                    guild_id=message.guild_id,
                    author_id=message.author_id,
                    type=int(message.type),
                    content=message.content,
                    reference_id=message.reference_id,
                    pinned=message.pinned,
                    edited_at=message.edited_at,
                    **_mention_values(message.mentions),
                )
            )
            await outbox_sql.append_tx(conn, events(message))
            return message, True

    async def get(self, message_id: Snowflake) -> Message | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
        return None if row is None else _message(row)

    async def page(
        self,
        channel_id: Snowflake,
        *,
        before: Snowflake | None,
        after: Snowflake | None,
        limit: int,
        newest_first: bool,
    ) -> list[Message]:
        query = select(messages).where(messages.c.channel_id == channel_id)
        if before is not None:
            query = query.where(messages.c.id < before)
        if after is not None:
            query = query.where(messages.c.id > after)
        order = messages.c.id.desc() if newest_first else messages.c.id.asc()
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(query.order_by(order).limit(limit))
            return [_message(r) for r in rows]

    async def edit(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        content: str,
        mentions: Mentions,
        edited_at: datetime,
        events: EventsOf[Message],
    ) -> Message | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(messages)
                    .where(and_(messages.c.channel_id == channel_id, messages.c.id == message_id))
                    .values(content=content, edited_at=edited_at, **_mention_values(mentions))
                    .returning(messages)
                )
            ).first()
            if row is None:
                return None
            message = _message(row)
            await outbox_sql.append_tx(conn, events(message))
            return message

    async def delete(
        self,
        channel_id: Snowflake,
        message_ids: Sequence[Snowflake],
        *,
        events: EventsOf[list[Message]],
    ) -> list[Message]:
        if not message_ids:
            return []
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            rows = await conn.execute(
                delete(messages)
                .where(
                    and_(messages.c.channel_id == channel_id, messages.c.id.in_(list(message_ids)))
                )
                .returning(messages)
            )
            deleted = sorted((_message(r) for r in rows), key=lambda m: m.id)
            if deleted:
                await outbox_sql.append_tx(conn, events(deleted))
            return deleted
