"""Reactions, read states and mentions of the SQL message store (its part that reads and
writes beside the messages, not the messages themselves)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.bus import Envelope
from gochat.domain.records import (
    MentionRef,
    ReactionCount,
    ReadState,
)
from gochat.ids import Snowflake
from gochat.storage import EventsOf
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.group_commit import GroupCommit
from gochat.storage.sql.tables import (
    channel_mentions,
    mentions,
    messages,
    reactions,
    read_states,
)


class SqlReactionsAndReads:
    _engines: Engines
    # Where acks queue: their own group commit, or the messages' (see SqlMessageStore).
    _acks: GroupCommit[Ack] | GroupCommit[Any]
    _foreseen_acks: GroupCommit[Any]

    async def add_reaction(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        user_id: Snowflake,
        *,
        now: datetime,
        events: EventsOf[bool],
    ) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(reactions).values(
                            channel_id=channel_id,
                            message_id=message_id,
                            emoji=emoji,
                            user_id=user_id,
                            created_at=now,
                        )
                    )
            except IntegrityError:
                return False
            await outbox_sql.append_tx(conn, events(True))  # noqa: FBT003
            return True

    async def remove_reaction(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        user_id: Snowflake,
        *,
        events: EventsOf[bool],
    ) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                delete(reactions).where(
                    and_(
                        reactions.c.channel_id == channel_id,
                        reactions.c.message_id == message_id,
                        reactions.c.emoji == emoji,
                        reactions.c.user_id == user_id,
                    )
                )
            )
            if result.rowcount != 1:
                return False
            await outbox_sql.append_tx(conn, events(True))  # noqa: FBT003
            return True

    async def reaction_counts(
        self, channel_id: Snowflake, message_ids: Sequence[Snowflake], viewer_id: Snowflake
    ) -> dict[Snowflake, list[ReactionCount]]:
        if not message_ids:
            return {}
        query = (
            select(
                reactions.c.message_id,
                reactions.c.emoji,
                func.count().label("n"),
                func.min(reactions.c.created_at).label("first"),
                func.sum(case((reactions.c.user_id == viewer_id, 1), else_=0)).label("mine"),
            )
            .where(
                and_(
                    reactions.c.channel_id == channel_id,
                    reactions.c.message_id.in_(list(message_ids)),
                )
            )
            .group_by(reactions.c.message_id, reactions.c.emoji)
            .order_by(reactions.c.message_id, "first", reactions.c.emoji)
        )
        out: dict[Snowflake, list[ReactionCount]] = {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            for r in await conn.execute(query):
                out.setdefault(Snowflake(r.message_id), []).append(
                    ReactionCount(emoji=r.emoji, count=int(r.n), me=bool(r.mine))
                )
        return out

    async def reactors(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        *,
        after_user_id: Snowflake | None,
        limit: int,
    ) -> list[Snowflake]:
        query = select(reactions.c.user_id).where(
            and_(
                reactions.c.channel_id == channel_id,
                reactions.c.message_id == message_id,
                reactions.c.emoji == emoji,
            )
        )
        if after_user_id is not None:
            query = query.where(reactions.c.user_id > after_user_id)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(query.order_by(reactions.c.user_id).limit(limit))
            return [Snowflake(r.user_id) for r in rows]

    async def ack(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        events: EventsOf[ReadState],
    ) -> ReadState:
        # Every send acks its author's own message: concurrent acks share a transaction and
        # one statement (on SQLite the sends' own transactions, see SqlMessageStore).
        done: asyncio.Future[ReadState] = asyncio.get_running_loop().create_future()
        state: ReadState = await self._acks.submit(
            Ack(user_id, channel_id, message_id, events, done)
        )
        return state

    async def ack_foreseen(self, state: ReadState, envelopes: Sequence[Envelope]) -> bool:
        done: asyncio.Future[ReadState] = asyncio.get_running_loop().create_future()
        item = Ack(state.user_id, state.channel_id, state.last_read_id, None, done, envelopes)
        await self._foreseen_acks.submit(item)
        return item.moved

    async def _ack_batch(self, batch: list[Ack]) -> None:
        """One transaction for every marker of the batch; outcomes are set after commit."""
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            states = await acks_tx(conn, batch)
        settle_acks(batch, states)

    async def read_states(
        self, user_id: Snowflake, channel_ids: Sequence[Snowflake] | None = None
    ) -> list[ReadState]:
        query = select(read_states).where(read_states.c.user_id == user_id)
        if channel_ids is not None:
            query = query.where(read_states.c.channel_id.in_(list(channel_ids)))
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(query.order_by(read_states.c.channel_id))
            return [
                ReadState(Snowflake(r.user_id), Snowflake(r.channel_id), Snowflake(r.last_read_id))
                for r in rows
            ]

    async def count_after(
        self, channel_id: Snowflake, after_id: Snowflake | None, *, cap: int
    ) -> int:
        inner = select(messages.c.id).where(messages.c.channel_id == channel_id)
        if after_id is not None:
            inner = inner.where(messages.c.id > after_id)
        capped = inner.limit(cap).subquery()
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(capped)) or 0)

    async def message_counts(
        self, channel_ids: Sequence[Snowflake], *, cap: int
    ) -> dict[Snowflake, int]:
        if not channel_ids:
            return {}
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(messages.c.channel_id, func.count().label("n"))
                .where(messages.c.channel_id.in_(list(dict.fromkeys(channel_ids))))
                .group_by(messages.c.channel_id)
            )
            return {Snowflake(r.channel_id): min(int(r.n), cap) for r in rows}

    async def count_mentions_after(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        after_id: Snowflake | None,
        *,
        role_ids: Sequence[Snowflake],
        cap: int,
    ) -> int:
        direct = select(mentions.c.message_id.label("mid")).where(
            and_(mentions.c.user_id == user_id, mentions.c.channel_id == channel_id)
        )
        by_role = select(channel_mentions.c.message_id.label("mid")).where(
            and_(
                channel_mentions.c.channel_id == channel_id,
                channel_mentions.c.role_id.in_(list(role_ids) or [-1]),
                channel_mentions.c.author_id != user_id,
            )
        )
        if after_id is not None:
            direct = direct.where(mentions.c.message_id > after_id)
            by_role = by_role.where(channel_mentions.c.message_id > after_id)
        union = direct.union(by_role).subquery()
        capped = select(union.c.mid).limit(cap).subquery()
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(capped)) or 0)

    async def mentions_of(
        self, user_id: Snowflake, *, before_message_id: Snowflake | None, limit: int
    ) -> list[MentionRef]:
        query = select(mentions).where(mentions.c.user_id == user_id)
        if before_message_id is not None:
            query = query.where(mentions.c.message_id < before_message_id)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(query.order_by(mentions.c.message_id.desc()).limit(limit))
            return [
                MentionRef(
                    message_id=Snowflake(r.message_id),
                    channel_id=Snowflake(r.channel_id),
                    guild_id=None if r.guild_id is None else Snowflake(r.guild_id),
                    author_id=Snowflake(r.author_id),
                )
                for r in rows
            ]


@dataclass(slots=True)
class Ack:
    user_id: Snowflake
    channel_id: Snowflake
    message_id: Snowflake
    events: EventsOf[ReadState] | None
    done: asyncio.Future[ReadState]
    # The event of a move to `message_id`, made up front (`ack_foreseen`): written only when
    # this ack moves the marker, which `moved` then says.
    foreseen: Sequence[Envelope] = ()
    moved: bool = False

    def envelopes(self, state: ReadState) -> Sequence[Envelope]:
        """The events of the move this ack made to `state`."""
        self.moved = True
        return self.foreseen if self.events is None else self.events(state)


async def acks_tx(conn: AsyncConnection, batch: Sequence[Ack]) -> list[ReadState]:
    """Move the markers of `batch` in `conn`'s transaction, one statement for all (each is a
    round trip to the driver's thread on SQLite): each ack's state, in order. A marker moves
    only forward, its event written once, by the ack that moved it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    latest: dict[tuple[Snowflake, Snowflake], Snowflake] = {}
    for item in batch:
        key = (item.user_id, item.channel_id)
        latest[key] = max(latest.get(key, item.message_id), item.message_id)
    upsert = dialect.insert(read_states).values(
        [{"user_id": u, "channel_id": c, "last_read_id": m} for (u, c), m in latest.items()]
    )
    # One row per marker (a statement may not change a row twice); the rows that come back
    # moved, the others were at or past their message already.
    upsert = upsert.on_conflict_do_update(
        index_elements=[read_states.c.user_id, read_states.c.channel_id],
        set_={"last_read_id": upsert.excluded.last_read_id},
        where=read_states.c.last_read_id < upsert.excluded.last_read_id,
    ).returning(read_states.c.user_id, read_states.c.channel_id, read_states.c.last_read_id)
    rows = (await conn.execute(upsert)).all()
    now_at = {(Snowflake(r[0]), Snowflake(r[1])): Snowflake(int(r[2])) for r in rows}
    moved = set(now_at)
    left = [key for key in latest if key not in now_at]
    if left:
        pairs = (and_(read_states.c.user_id == u, read_states.c.channel_id == c) for u, c in left)
        current = await conn.execute(
            select(
                read_states.c.user_id, read_states.c.channel_id, read_states.c.last_read_id
            ).where(or_(*pairs))
        )
        for r in current:
            now_at[(Snowflake(r[0]), Snowflake(r[1]))] = Snowflake(int(r[2]))
    envelopes: list[Envelope] = []
    for item in batch:
        key = (item.user_id, item.channel_id)
        if key in moved and item.message_id == latest[key]:
            moved.discard(key)
            envelopes += item.envelopes(ReadState(*key, now_at[key]))
    await outbox_sql.append_tx(conn, envelopes)
    states = []
    for item in batch:
        at = now_at.get((item.user_id, item.channel_id), item.message_id)
        states.append(ReadState(item.user_id, item.channel_id, at))
    return states


def settle_acks(batch: Sequence[Ack], states: Sequence[ReadState]) -> None:
    for item, state in zip(batch, states, strict=True):
        if not item.done.done():
            item.done.set_result(state)
