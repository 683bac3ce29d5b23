"""Messages on Cassandra/ScyllaDB, laid out as GoChat does: partitions of (channel, time bucket)
clustered by id descending; reactions by message; read states by user; mentions by user.
Sending (the nonce claim and the message's logged batch) is in `sends`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from cassandra.query import BatchStatement, BatchType

from gochat.bus import Envelope
from gochat.domain.records import (
    Embed,
    MentionRef,
    Mentions,
    Message,
    MessageFlag,
    ReactionCount,
    ReadState,
)
from gochat.ids import GOCHAT_EPOCH_MS, Snowflake
from gochat.storage import EventsOf
from gochat.storage.cql import CqlSession
from gochat.storage.cql.outbox import CqlOutboxStore
from gochat.storage.cql.sends import (
    BUCKET_MS,
    DELETED_MARKER_TTL_SECONDS,
    MessageWriter,
    bucket,
    message_from_row,
    no_fault,
)
from gochat.storage.embeds import embeds_json

__all__ = ["CqlMessageStore", "bucket"]


class CqlMessageStore:
    def __init__(self, cql: CqlSession, *, after_claim: Callable[[], None] = no_fault) -> None:
        """`after_claim`: see MessageWriter."""
        self._cql = cql
        self._ks = cql.target.keyspace
        self.outbox = CqlOutboxStore(cql)
        self._writer = MessageWriter(cql, self.outbox, after_claim=after_claim)
        self._row = self._writer.row
        self._outbox_statements = self.outbox.append

    async def ping(self) -> None:
        await self._cql.ping()

    async def insert_once(
        self,
        message: Message,
        *,
        nonce: str | None,
        window_start: datetime,
        events: EventsOf[Message],
    ) -> tuple[Message, bool]:
        return await self._writer.insert_once(
            message, nonce=nonce, window_start=window_start, events=events
        )

    def _t(self, table: str) -> str:
        return f"{self._ks}.{table}"

    async def get(self, message_id: Snowflake) -> Message | None:
        rows = await self._cql.execute(
            f"SELECT channel_id FROM {self._t('messages_by_id')} WHERE id = ?", (message_id,)
        )
        if not rows:
            return None
        row = await self._row(rows[0].channel_id, message_id)
        return None if row is None else message_from_row(row)

    async def last_message_ids(
        self, channel_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Snowflake]:
        if not channel_ids:
            return {}
        rows = await self._cql.execute(
            f"SELECT channel_id, message_id FROM {self._t('last_messages')} WHERE channel_id IN ?",
            (list(channel_ids),),
        )
        return {Snowflake(r.channel_id): Snowflake(r.message_id) for r in rows}

    async def page(
        self,
        channel_id: Snowflake,
        *,
        before: Snowflake | None,
        after: Snowflake | None,
        limit: int,
        newest_first: bool,
    ) -> list[Message]:
        found: list[Message] = []
        newest = (time.time_ns() // 1_000_000 - GOCHAT_EPOCH_MS) // BUCKET_MS
        oldest = bucket(channel_id)
        if newest_first:
            start = bucket(before - 1) if before is not None else newest
            stop = bucket(after + 1) if after is not None else oldest
            buckets = range(min(start, newest), max(stop, oldest) - 1, -1)
            query = f"SELECT * FROM {self._t('messages')} WHERE channel_id = ? AND bucket = ? AND id < ? AND id > ? LIMIT ?"
        else:
            start = bucket(after + 1) if after is not None else oldest
            stop = bucket(before - 1) if before is not None else newest
            buckets = range(max(start, oldest), min(stop, newest) + 1)
            query = (
                f"SELECT * FROM {self._t('messages')} WHERE channel_id = ? AND bucket = ? AND id < ? AND id > ? "
                "ORDER BY id ASC LIMIT ?"
            )
        upper = before if before is not None else (1 << 63) - 1
        lower = after if after is not None else 0
        for b in buckets:
            rows = await self._cql.execute(query, (channel_id, b, upper, lower, limit - len(found)))
            found.extend(message_from_row(r) for r in rows)
            if len(found) >= limit:
                break
        return found[:limit]

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
        row = await self._row(channel_id, message_id)
        if row is None:
            return None
        edited = message_from_row(row)
        values: dict[str, Any] = {}
        if content is not None:
            values.update(content=content, generated_embeds="[]", generated_for=None)
            edited = replace(edited, content=content, generated_embeds=(), generated_for=None)
        if mentions is not None:
            values.update(
                mention_user_ids=list(mentions.user_ids),
                mention_role_ids=list(mentions.role_ids),
                mention_everyone=mentions.everyone,
            )
            edited = replace(edited, mentions=mentions)
        if embeds is not None:
            values["embeds"] = embeds_json(embeds)
            edited = replace(edited, embeds=tuple(embeds))
        if flags is not None:
            values["flags"] = int(flags)
            edited = replace(edited, flags=flags)
        if edited_at is not None:
            values["edited_at"] = edited_at
            edited = replace(edited, edited_at=edited_at)
        if not values:
            return edited
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(
            await self._cql.prepare(
                f"UPDATE {self._t('messages')} SET "
                + ", ".join(f"{column} = ?" for column in values)
                + " WHERE channel_id = ? AND bucket = ? AND id = ?"
            ),
            (*values.values(), channel_id, bucket(message_id), message_id),
        )
        await self._outbox_statements(batch, events(edited))
        await self._cql.execute(batch)
        return edited

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
        row = await self._row(channel_id, message_id)
        if row is None or row.generated_for == version or (row.content or "") != content:
            return None
        # Conditional on the content, so an edit that lands meanwhile is never given embeds
        # of its old content; the event goes to the outbox only once the write applied.
        applied = await self._cql.execute(
            f"UPDATE {self._t('messages')} SET generated_embeds = ?, generated_for = ? "
            "WHERE channel_id = ? AND bucket = ? AND id = ? IF content = ?",
            (embeds_json(embeds), version, channel_id, bucket(message_id), message_id, content),
        )
        if not applied or not applied[0].applied:
            return None
        changed = replace(
            message_from_row(row), generated_embeds=tuple(embeds), generated_for=version
        )
        envelopes = events(changed)
        if envelopes:
            batch = BatchStatement(batch_type=BatchType.LOGGED)
            await self._outbox_statements(batch, envelopes)
            await self._cql.execute(batch)
        return changed

    async def delete(
        self,
        channel_id: Snowflake,
        message_ids: Sequence[Snowflake],
        *,
        events: EventsOf[list[Message]],
    ) -> list[Message]:
        deleted: list[Message] = []
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        for message_id in dict.fromkeys(message_ids):
            row = await self._row(channel_id, message_id)
            if row is None:
                continue
            message = message_from_row(row)
            deleted.append(message)
            for cql, params in (
                (
                    f"DELETE FROM {self._t('messages')} WHERE channel_id = ? AND bucket = ? AND id = ?",
                    (channel_id, bucket(message_id), message_id),
                ),
                (f"DELETE FROM {self._t('messages_by_id')} WHERE id = ?", (message_id,)),
                (
                    f"INSERT INTO {self._t('deleted_messages')} (id, channel_id) VALUES (?, ?) "
                    f"USING TTL {DELETED_MARKER_TTL_SECONDS}",
                    (message_id, channel_id),
                ),
                (
                    f"DELETE FROM {self._t('reactions')} WHERE channel_id = ? AND message_id = ?",
                    (channel_id, message_id),
                ),
                (
                    f"DELETE FROM {self._t('pins')} WHERE channel_id = ? AND message_id = ?",
                    (channel_id, message_id),
                ),
            ):
                batch.add(await self._cql.prepare(cql), params)
            for user_id in message.mentions.user_ids:
                batch.add(
                    await self._cql.prepare(
                        f"DELETE FROM {self._t('mentions')} WHERE user_id = ? AND message_id = ?"
                    ),
                    (user_id, message_id),
                )
                batch.add(
                    await self._cql.prepare(
                        f"DELETE FROM {self._t('mentions_by_channel')} WHERE user_id = ? AND channel_id = ? AND message_id = ?"
                    ),
                    (user_id, channel_id, message_id),
                )
            batch.add(
                await self._cql.prepare(
                    f"DELETE FROM {self._t('channel_mentions')} WHERE channel_id = ? AND message_id = ?"
                ),
                (channel_id, message_id),
            )
        if not deleted:
            return []
        deleted.sort(key=lambda m: m.id)
        await self._outbox_statements(batch, events(deleted))
        await self._cql.execute(batch)
        return deleted

    async def set_pinned(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        pinned: bool,
        events: EventsOf[Message],
    ) -> Message | None:
        row = await self._row(channel_id, message_id)
        if row is None:
            return None
        message = message_from_row(row)
        if message.pinned == pinned:
            return message
        changed = Message(
            **{**{f: getattr(message, f) for f in Message.__slots__}, "pinned": pinned}
        )
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(
            await self._cql.prepare(
                f"UPDATE {self._t('messages')} SET pinned = ? WHERE channel_id = ? AND bucket = ? AND id = ?"
            ),
            (pinned, channel_id, bucket(message_id), message_id),
        )
        pin_cql = (
            f"INSERT INTO {self._t('pins')} (channel_id, message_id) VALUES (?, ?)"
            if pinned
            else f"DELETE FROM {self._t('pins')} WHERE channel_id = ? AND message_id = ?"
        )
        batch.add(await self._cql.prepare(pin_cql), (channel_id, message_id))
        await self._outbox_statements(batch, events(changed))
        await self._cql.execute(batch)
        return changed

    async def pins(self, channel_id: Snowflake) -> list[Message]:
        rows = await self._cql.execute(
            f"SELECT message_id FROM {self._t('pins')} WHERE channel_id = ?", (channel_id,)
        )
        found = []
        for r in rows:
            row = await self._row(channel_id, r.message_id)
            if row is not None:
                found.append(message_from_row(row))
        return found

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
        applied = await self._cql.execute(
            f"INSERT INTO {self._t('reactions')} (channel_id, message_id, emoji, user_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            (channel_id, message_id, emoji, user_id, now),
        )
        if not applied[0].applied:
            return False
        await self._write_outbox(events(True))  # noqa: FBT003
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
        applied = await self._cql.execute(
            f"DELETE FROM {self._t('reactions')} WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id = ? IF EXISTS",
            (channel_id, message_id, emoji, user_id),
        )
        if not applied[0].applied:
            return False
        await self._write_outbox(events(True))  # noqa: FBT003
        return True

    async def _write_outbox(self, envelopes: Sequence[Any]) -> None:
        if envelopes:
            batch = BatchStatement(batch_type=BatchType.LOGGED)
            await self._outbox_statements(batch, envelopes)
            await self._cql.execute(batch)

    async def reaction_counts(
        self, channel_id: Snowflake, message_ids: Sequence[Snowflake], viewer_id: Snowflake
    ) -> dict[Snowflake, list[ReactionCount]]:
        out: dict[Snowflake, list[ReactionCount]] = {}
        for message_id in message_ids:
            rows = await self._cql.execute(
                f"SELECT emoji, user_id, created_at FROM {self._t('reactions')} WHERE channel_id = ? AND message_id = ?",
                (channel_id, message_id),
            )
            groups: dict[str, list[Any]] = {}
            for r in rows:
                groups.setdefault(r.emoji, []).append(r)
            if groups:
                ordered = sorted(
                    groups.items(), key=lambda kv: (min(r.created_at for r in kv[1]), kv[0])
                )
                out[Snowflake(message_id)] = [
                    ReactionCount(
                        emoji=e, count=len(rs), me=any(r.user_id == viewer_id for r in rs)
                    )
                    for e, rs in ordered
                ]
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
        rows = await self._cql.execute(
            f"SELECT user_id FROM {self._t('reactions')} WHERE channel_id = ? AND message_id = ? AND emoji = ? "
            "AND user_id > ? LIMIT ?",
            (channel_id, message_id, emoji, after_user_id or 0, limit),
        )
        return [Snowflake(r.user_id) for r in rows]

    async def ack(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        events: EventsOf[ReadState],
    ) -> ReadState:
        state = ReadState(user_id, channel_id, message_id)
        if await self._move_marker(state):
            # The event carries the move this call made (a later one announces its own).
            await self._write_outbox(events(state))
        return (await self.read_states(user_id, [channel_id]))[0]

    async def ack_foreseen(self, state: ReadState, envelopes: Sequence[Envelope]) -> bool:
        moved = await self._move_marker(state)
        if moved:
            await self._write_outbox(envelopes)
        return moved

    async def _move_marker(self, state: ReadState) -> bool:
        """Whether the marker moved forward to `state`."""
        user_id, channel_id, message_id = state.user_id, state.channel_id, state.last_read_id
        # The marker usually exists and is behind (an author's own sends ack each message):
        # one conditional update, a Paxos round; a second one only for a channel's first ack.
        result = await self._cql.execute(
            f"UPDATE {self._t('read_states')} SET last_read_id = ? WHERE user_id = ? AND channel_id = ? IF last_read_id < ?",
            (message_id, user_id, channel_id, message_id),
        )
        moved = bool(result[0].applied)
        if not moved and getattr(result[0], "last_read_id", None) is None:  # no marker yet
            created = await self._cql.execute(
                f"INSERT INTO {self._t('read_states')} (user_id, channel_id, last_read_id) VALUES (?, ?, ?) IF NOT EXISTS",
                (user_id, channel_id, message_id),
            )
            moved = bool(created[0].applied)
            if not moved:  # a concurrent first ack created it meanwhile
                result = await self._cql.execute(
                    f"UPDATE {self._t('read_states')} SET last_read_id = ? WHERE user_id = ? AND channel_id = ? IF last_read_id < ?",
                    (message_id, user_id, channel_id, message_id),
                )
                moved = bool(result[0].applied)
        return moved

    async def read_states(
        self, user_id: Snowflake, channel_ids: Sequence[Snowflake] | None = None
    ) -> list[ReadState]:
        if channel_ids is None:
            rows = await self._cql.execute(
                f"SELECT * FROM {self._t('read_states')} WHERE user_id = ?", (user_id,)
            )
        else:
            rows = await self._cql.execute(
                f"SELECT * FROM {self._t('read_states')} WHERE user_id = ? AND channel_id IN ?",
                (user_id, list(channel_ids)),
            )
        return [
            ReadState(Snowflake(r.user_id), Snowflake(r.channel_id), Snowflake(r.last_read_id))
            for r in rows
        ]

    async def count_after(
        self, channel_id: Snowflake, after_id: Snowflake | None, *, cap: int
    ) -> int:
        rows = await self.page(
            channel_id, before=None, after=after_id, limit=cap, newest_first=True
        )
        return len(rows)

    async def message_counts(
        self, channel_ids: Sequence[Snowflake], *, cap: int
    ) -> dict[Snowflake, int]:
        # A channel's messages span its time buckets: each is counted on its own partitions,
        # all of them at once.
        unique = list(dict.fromkeys(channel_ids))
        counts = await asyncio.gather(*(self.count_after(c, None, cap=cap) for c in unique))
        return {c: n for c, n in zip(unique, counts, strict=True) if n}

    async def count_mentions_after(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        after_id: Snowflake | None,
        *,
        role_ids: Sequence[Snowflake],
        cap: int,
    ) -> int:
        lower = after_id or 0
        direct = await self._cql.execute(
            f"SELECT message_id FROM {self._t('mentions_by_channel')} WHERE user_id = ? AND channel_id = ? AND message_id > ? LIMIT ?",
            (user_id, channel_id, lower, cap),
        )
        ids = {r.message_id for r in direct}
        if role_ids:
            by_role = await self._cql.execute(
                f"SELECT message_id, role_id, author_id FROM {self._t('channel_mentions')} WHERE channel_id = ? AND message_id > ?",
                (channel_id, lower),
            )
            wanted = set(role_ids)
            ids |= {r.message_id for r in by_role if r.role_id in wanted and r.author_id != user_id}
        return min(len(ids), cap)

    async def mentions_of(
        self, user_id: Snowflake, *, before_message_id: Snowflake | None, limit: int
    ) -> list[MentionRef]:
        rows = await self._cql.execute(
            f"SELECT * FROM {self._t('mentions')} WHERE user_id = ? AND message_id < ? LIMIT ?",
            (user_id, before_message_id or (1 << 63) - 1, limit),
        )
        return [
            MentionRef(
                message_id=Snowflake(r.message_id),
                channel_id=Snowflake(r.channel_id),
                guild_id=None if r.guild_id is None else Snowflake(r.guild_id),
                author_id=Snowflake(r.author_id),
            )
            for r in rows
        ]
