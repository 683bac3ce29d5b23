"""Messages in SQL (SQLite or PostgreSQL): the embedded default message store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import (
    Embed,
    Mentions,
    Message,
    MessageFlag,
    MessageType,
    ReadState,
)
from gochat.errors import Conflict, GoChatError
from gochat.ids import Snowflake, created_at
from gochat.storage import EventsOf
from gochat.storage.embeds import embeds_from_json, embeds_json
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql import send_statement
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.group_commit import GroupCommit
from gochat.storage.sql.message_reactions import (
    Ack,
    SqlReactionsAndReads,
    acks_tx,
    settle_acks,
)
from gochat.storage.sql.message_rows import (
    mention_values,
    mentioned_roles,
    mentioned_users,
    message_values,
)
from gochat.storage.sql.tables import (
    channel_mentions,
    mentions,
    message_nonces,
    messages,
)


def _message(row: Any) -> Message:
    return Message(
        id=Snowflake(row.id),
        channel_id=Snowflake(row.channel_id),
        guild_id=None if row.guild_id is None else Snowflake(row.guild_id),
        author_id=Snowflake(row.author_id),
        type=MessageType(row.type),
        content=row.content,
        reference_id=None if row.reference_id is None else Snowflake(row.reference_id),
        mentions=_NO_MENTIONS
        if row.mention_user_ids == "[]"
        and row.mention_role_ids == "[]"
        and not row.mention_everyone
        else Mentions(
            user_ids=tuple(Snowflake(i) for i in json.loads(row.mention_user_ids)),
            role_ids=tuple(Snowflake(i) for i in json.loads(row.mention_role_ids)),
            everyone=bool(row.mention_everyone),
        ),
        pinned=bool(row.pinned),
        edited_at=row.edited_at,
        flags=MessageFlag(row.flags),
        embeds=embeds_from_json(row.embeds),
        generated_embeds=embeds_from_json(row.generated_embeds),
        generated_for=row.generated_for,
    )


# Most messages mention no one: history pages skip two JSON parses per row for them.
_NO_MENTIONS = Mentions()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class _Send:
    message: Message
    nonce: str | None
    window_start: datetime
    events: EventsOf[Message]
    done: asyncio.Future[tuple[Message, bool]]


class SqlMessageStore(SqlReactionsAndReads):
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        one_statement = engines.dialect == "postgresql"
        self._group: GroupCommit[_Send | Ack]
        if one_statement:
            # Acks made with their event up front (an author's own sends) ride in the sends'
            # statement; the others need their transaction (their events follow the outcome).
            self._group = self._foreseen_acks = GroupCommit(self._insert_batch_one_statement)
            self._acks = GroupCommit(self._ack_batch)
        else:
            # Every send acks its author's marker once its message committed: those acks
            # ride in the next batch's transaction (SQLite pays for each transaction in
            # round trips to its driver thread), or start one when no send follows.
            self._group = self._acks = self._foreseen_acks = GroupCommit(self._insert_batch)

    async def ping(self) -> None:
        """The relational store's ping covers these tables: same database."""

    async def insert_once(
        self,
        message: Message,
        *,
        nonce: str | None,
        window_start: datetime,
        events: EventsOf[Message],
    ) -> tuple[Message, bool]:
        done: asyncio.Future[tuple[Message, bool]] = asyncio.get_running_loop().create_future()
        outcome: tuple[Message, bool] = await self._group.submit(
            _Send(message, nonce, window_start, events, done)
        )
        return outcome

    async def _insert_batch(self, everything: list[_Send | Ack]) -> None:
        """One transaction for every send and read-marker ack of the batch; outcomes are set
        after commit."""
        batch = [item for item in everything if isinstance(item, _Send)]
        acks = [item for item in everything if isinstance(item, Ack)]
        outcomes: list[tuple[Message, bool] | GoChatError] = []
        states: list[ReadState] = []
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            if acks:
                states = await acks_tx(conn, acks)
            fresh: dict[Snowflake, Message] = {}
            for item in batch:
                outcome = await _claim_nonce_tx(conn, item, fresh)
                outcomes.append(outcome)
                if not isinstance(outcome, GoChatError) and outcome[0] is item.message:
                    fresh[item.message.id] = item.message
            created = list(fresh.values())
            if created:
                await conn.execute(messages.insert(), [message_values(m) for m in created])
                await _write_mentions_tx(conn, created)
                envelopes = [
                    e
                    for item in batch
                    if item.message.id in fresh
                    for e in item.events(item.message)
                ]
                await outbox_sql.append_tx(conn, envelopes)
        settle_acks(acks, states)
        for item, outcome in zip(batch, outcomes, strict=True):
            if item.done.done():
                continue
            if isinstance(outcome, GoChatError):
                item.done.set_exception(outcome)
            else:
                item.done.set_result(outcome)

    async def _insert_batch_one_statement(self, batch: list[_Send | Ack]) -> None:
        """PostgreSQL: the batch as one autocommit statement (see send_statement); a send
        whose nonce is still in use then reads the message that nonce made."""
        firsts: dict[tuple[int, int, str], _Send] = {}
        unique: list[_Send] = []
        repeats: list[tuple[_Send, _Send]] = []
        acks: list[Ack] = []
        for item in batch:
            if isinstance(item, Ack):
                acks.append(item)
                continue
            if item.nonce is not None:
                key = (item.message.channel_id, item.message.author_id, item.nonce)
                first = firsts.setdefault(key, item)
                if first is not item:
                    repeats.append((item, first))
                    continue
            unique.append(item)
        # One mark per marker (a statement may not change a row twice), by its furthest ack.
        movers: dict[tuple[Snowflake, Snowflake], Ack] = {}
        for ack in acks:
            marker = (ack.user_id, ack.channel_id)
            if marker not in movers or movers[marker].message_id < ack.message_id:
                movers[marker] = ack
        outcomes: dict[int, tuple[Message, bool] | Exception] = {}
        async with unavailable_on_disconnect(), self._engines.autocommit.connect() as conn:
            written = await send_statement.insert_messages(
                conn,
                [(item.message, item.nonce, item.events(item.message)) for item in unique],
                window_start=min((item.window_start for item in unique), default=_EPOCH),
                marks=[
                    send_statement.Mark(a.user_id, a.channel_id, a.message_id, a.foreseen)
                    for a in movers.values()
                ],
            )
            # The statement committed: from here on a failure is one send's own (the group
            # commit must not run this batch again).
            for item in unique:
                if item.message.id in written.stored:
                    outcomes[id(item)] = (item.message, True)
                    continue
                try:
                    async with unavailable_on_disconnect():
                        outcomes[id(item)] = await _first_of_nonce(conn, item, {})
                except Exception as exc:  # noqa: BLE001
                    outcomes[id(item)] = exc
        for item, first in repeats:
            outcome = outcomes[id(first)]
            outcomes[id(item)] = outcome if isinstance(outcome, Exception) else (outcome[0], False)
        for item in unique + [item for item, _ in repeats]:
            if not item.done.done():
                outcome = outcomes[id(item)]
                if isinstance(outcome, Exception):
                    item.done.set_exception(outcome)
                else:
                    item.done.set_result(outcome)
        states: list[ReadState] = []
        for ack in acks:
            marker = (ack.user_id, ack.channel_id)
            mover = movers[marker]
            if marker in written.moved:
                ack.moved = ack is mover
                states.append(ReadState(*marker, mover.message_id))
            else:
                states.append(ReadState(*marker, written.before.get(marker, ack.message_id)))
        settle_acks(acks, states)

    async def get(self, message_id: Snowflake) -> Message | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            row = (await conn.execute(select(messages).where(messages.c.id == message_id))).first()
        return None if row is None else _message(row)

    async def last_message_ids(
        self, channel_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Snowflake]:
        if not channel_ids:
            return {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(messages.c.channel_id, func.max(messages.c.id).label("last"))
                .where(messages.c.channel_id.in_(list(channel_ids)))
                .group_by(messages.c.channel_id)
            )
            return {Snowflake(r.channel_id): Snowflake(r.last) for r in rows}

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
        content: str | None,
        mentions: Mentions | None,
        embeds: Sequence[Embed] | None,
        flags: MessageFlag | None,
        edited_at: datetime | None,
        events: EventsOf[Message],
    ) -> Message | None:
        values: dict[str, Any] = {}
        if content is not None:
            values.update(content=content, generated_embeds="[]", generated_for=None)
        if mentions is not None:
            values.update(mention_values(mentions))
        if embeds is not None:
            values["embeds"] = embeds_json(embeds)
        if flags is not None:
            values["flags"] = int(flags)
        if edited_at is not None:
            values["edited_at"] = edited_at
        key = and_(messages.c.channel_id == channel_id, messages.c.id == message_id)
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            if not values:
                row = (await conn.execute(select(messages).where(key))).first()
                return None if row is None else _message(row)
            row = (
                await conn.execute(update(messages).where(key).values(**values).returning(messages))
            ).first()
            if row is None:
                return None
            message = _message(row)
            await outbox_sql.append_tx(conn, events(message))
            return message

    async def set_generated_embeds(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        embeds: Sequence[Embed],
        *,
        content: str,
        version: str,
        events: EventsOf[Message],
    ) -> Message | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            row = (
                await conn.execute(
                    update(messages)
                    .where(
                        and_(
                            messages.c.channel_id == channel_id,
                            messages.c.id == message_id,
                            messages.c.content == content,
                            func.coalesce(messages.c.generated_for, "") != version,
                        )
                    )
                    .values(generated_embeds=embeds_json(embeds), generated_for=version)
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

    async def set_pinned(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        pinned: bool,
        events: EventsOf[Message],
    ) -> Message | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            key = and_(messages.c.channel_id == channel_id, messages.c.id == message_id)
            changed = (
                await conn.execute(
                    update(messages)
                    .where(and_(key, messages.c.pinned == (not pinned)))
                    .values(pinned=pinned)
                    .returning(messages)
                )
            ).first()
            if changed is not None:
                message = _message(changed)
                await outbox_sql.append_tx(conn, events(message))
                return message
            row = (await conn.execute(select(messages).where(key))).first()
            return None if row is None else _message(row)

    async def pins(self, channel_id: Snowflake) -> list[Message]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(messages)
                .where(and_(messages.c.channel_id == channel_id, messages.c.pinned.is_(True)))
                .order_by(messages.c.id.desc())
            )
            return [_message(r) for r in rows]


async def _claim_nonce_tx(
    conn: AsyncConnection, item: _Send, fresh: dict[Snowflake, Message]
) -> tuple[Message, bool] | GoChatError:
    """(message, True) when the send is new; the first message and False for a nonce used
    since the window start, including by an earlier send of the same batch (`fresh`)."""
    message, nonce = item.message, item.nonce
    if nonce is None:
        return message, True
    key = and_(
        message_nonces.c.channel_id == message.channel_id,
        message_nonces.c.author_id == message.author_id,
        message_nonces.c.nonce == nonce,
    )
    # An expired nonce may be used again.
    await conn.execute(
        delete(message_nonces).where(and_(key, message_nonces.c.created_at < item.window_start))
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
        return await _first_of_nonce(conn, item, fresh)
    return message, True


async def _first_of_nonce(
    conn: AsyncConnection, item: _Send, fresh: dict[Snowflake, Message]
) -> tuple[Message, bool] | GoChatError:
    """The message an earlier send with the item's nonce made (a retry), from `fresh` when it
    is of the same batch; Conflict when that message was deleted since."""
    message = item.message
    first_id = await conn.scalar(
        select(message_nonces.c.message_id).where(
            and_(
                message_nonces.c.channel_id == message.channel_id,
                message_nonces.c.author_id == message.author_id,
                message_nonces.c.nonce == item.nonce,
            )
        )
    )
    if first_id in fresh:
        return fresh[first_id], False
    row = (
        await conn.execute(
            select(messages).where(
                and_(messages.c.channel_id == message.channel_id, messages.c.id == first_id)
            )
        )
    ).first()
    if row is None:
        return Conflict("a message with this nonce was sent and then deleted")
    return _message(row), False


async def _write_mentions_tx(conn: AsyncConnection, created: Sequence[Message]) -> None:
    user_rows = [
        {
            "user_id": u,
            "channel_id": m.channel_id,
            "message_id": m.id,
            "guild_id": m.guild_id,
            "author_id": m.author_id,
        }
        for m in created
        for u in mentioned_users(m)
    ]
    if user_rows:
        await conn.execute(insert(mentions), user_rows)
    role_rows = [
        {"channel_id": m.channel_id, "message_id": m.id, "role_id": r, "author_id": m.author_id}
        for m in created
        for r in mentioned_roles(m)
    ]
    if role_rows:
        await conn.execute(insert(channel_mentions), role_rows)
