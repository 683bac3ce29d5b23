"""Sending messages on PostgreSQL in one statement.

A send in a transaction costs four round trips (BEGIN, the message rows, the outbox rows,
COMMIT), and on a busy API process each reply waits its turn in the event loop behind socket
writes: the sender's latency grows with every await. Here a batch of sends is one statement,
run in autocommit (a statement is atomic on its own): data-modifying CTEs claim the nonces,
insert the messages whose claim succeeded (or that carry none), their mentions, and the outbox
rows of those messages. The arrays travel as one parameter per column (`unnest`), so the text
of the statement is the same for any batch and the server keeps it prepared.

Read markers ride along: each moves forward only (an upsert that changes a marker behind the
new position), and its event, made up front for that one move, is written only when the marker
moved. The statement's snapshot is taken before any of its changes, so the markers it reads
back are those before the statement; with the ones it moved, every marker's position is known.

A nonce is claimed by an upsert that takes over only an expired row, the same rule as the
transactional path (delete the expired nonce, then insert); a nonce still in its window claims
nothing, and its message and events are not written. Repeats of one nonce within a batch must be
resolved by the caller: an upsert may not touch one row twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.bus import Envelope
from gochat.domain.records import Message
from gochat.ids import Snowflake, created_at
from gochat.storage.sql.message_rows import (
    mentioned_roles,
    mentioned_users,
    message_values,
)

_SEND = """
WITH sent AS (
  SELECT * FROM unnest(
    $1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::integer[], $6::text[],
    $7::bigint[], $8::text[], $9::text[], $10::boolean[], $11::boolean[],
    $12::timestamptz[], $13::varchar[], $14::timestamptz[], $30::text[]
  ) AS s(channel_id, id, guild_id, author_id, type, content, reference_id, mention_user_ids,
         mention_role_ids, mention_everyone, pinned, edited_at, nonce, created_at, embeds)
), claimed AS (
  INSERT INTO message_nonces (channel_id, author_id, nonce, message_id, created_at)
  SELECT channel_id, author_id, nonce, id, created_at FROM sent WHERE nonce IS NOT NULL
  ON CONFLICT (channel_id, author_id, nonce) DO UPDATE
    SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at
    WHERE message_nonces.created_at < $15
  RETURNING message_id
), stored AS (
  INSERT INTO messages (channel_id, id, guild_id, author_id, type, content, reference_id,
                        mention_user_ids, mention_role_ids, mention_everyone, pinned, edited_at,
                        embeds)
  SELECT channel_id, id, guild_id, author_id, type, content, reference_id, mention_user_ids,
         mention_role_ids, mention_everyone, pinned, edited_at, embeds
  FROM sent WHERE nonce IS NULL OR id IN (SELECT message_id FROM claimed)
  RETURNING id
), user_mentions AS (
  INSERT INTO mentions (user_id, channel_id, message_id, guild_id, author_id)
  SELECT user_id, channel_id, message_id, guild_id, author_id
  FROM unnest($16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[])
    AS u(user_id, channel_id, message_id, guild_id, author_id)
  WHERE message_id IN (SELECT id FROM stored)
), role_mentions AS (
  INSERT INTO channel_mentions (channel_id, message_id, role_id, author_id)
  SELECT channel_id, message_id, role_id, author_id
  FROM unnest($21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[])
    AS r(channel_id, message_id, role_id, author_id)
  WHERE message_id IN (SELECT id FROM stored)
), events AS (
  INSERT INTO outbox (event_id, subject, payload, created_at, attempts)
  SELECT event_id, subject, payload, $29, 0
  FROM unnest($25::bigint[], $26::bigint[], $27::varchar[], $28::bytea[])
    AS e(message_id, event_id, subject, payload)
  WHERE message_id IN (SELECT id FROM stored)
), marks AS (
  SELECT * FROM unnest($31::bigint[], $32::bigint[], $33::bigint[])
    AS m(user_id, channel_id, last_read_id)
), moved AS (
  INSERT INTO read_states (user_id, channel_id, last_read_id)
  SELECT user_id, channel_id, last_read_id FROM marks
  ON CONFLICT (user_id, channel_id) DO UPDATE SET last_read_id = EXCLUDED.last_read_id
    WHERE read_states.last_read_id < EXCLUDED.last_read_id
  RETURNING user_id, channel_id, last_read_id
), read_events AS (
  INSERT INTO outbox (event_id, subject, payload, created_at, attempts)
  SELECT event_id, subject, payload, $29, 0
  FROM unnest($34::bigint[], $35::bigint[], $36::bigint[], $37::bigint[], $38::varchar[],
              $39::bytea[]) AS r(user_id, channel_id, last_read_id, event_id, subject, payload)
  WHERE (user_id, channel_id, last_read_id) IN (SELECT * FROM moved)
)
SELECT 0, id, 0, 0 FROM stored
UNION ALL SELECT 1, user_id, channel_id, last_read_id FROM moved
UNION ALL SELECT 2, user_id, channel_id, read_states.last_read_id
  FROM read_states JOIN marks USING (user_id, channel_id)
"""


# The order of the first twelve arrays of the statement.
_MESSAGE_COLUMNS = (
    "channel_id",
    "id",
    "guild_id",
    "author_id",
    "type",
    "content",
    "reference_id",
    "mention_user_ids",
    "mention_role_ids",
    "mention_everyone",
    "pinned",
    "edited_at",
)


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    return [[row[i] for row in rows] for i in range(width)] if rows else [[]] * width


@dataclass(frozen=True, slots=True)
class Mark:
    """A read marker to move forward to `last_read_id`, with the event of that move."""

    user_id: Snowflake
    channel_id: Snowflake
    last_read_id: Snowflake
    envelopes: Sequence[Envelope]


@dataclass(slots=True)
class Written:
    stored: set[Snowflake] = field(default_factory=set)
    """The messages stored."""
    moved: set[tuple[Snowflake, Snowflake]] = field(default_factory=set)
    """The (user, channel) markers moved, each to its Mark's position."""
    before: dict[tuple[Snowflake, Snowflake], Snowflake] = field(default_factory=dict)
    """The markers' positions before the statement, where they existed."""


async def insert_messages(
    conn: AsyncConnection,
    sends: Sequence[tuple[Message, str | None, Sequence[Envelope]]],
    *,
    window_start: datetime,
    marks: Sequence[Mark] = (),
) -> Written:
    """Store each (message, nonce, its events) whose nonce is free, or expired before
    `window_start`, or that has none, and move the read markers of `marks` (one per user and
    channel). The connection must be in autocommit: the statement is its own transaction."""
    message_rows: list[tuple[object, ...]] = []
    user_rows: list[tuple[object, ...]] = []
    role_rows: list[tuple[object, ...]] = []
    event_rows: list[tuple[object, ...]] = []
    # A new message has flags 0 and no generated embeds (the columns' defaults).
    embed_rows: list[object] = []
    for message, nonce, envelopes in sends:
        row = message_values(message)
        message_rows.append(
            (*(row[column] for column in _MESSAGE_COLUMNS), nonce, created_at(message.id))
        )
        embed_rows.append(row["embeds"])
        user_rows.extend(
            (user_id, message.channel_id, message.id, message.guild_id, message.author_id)
            for user_id in mentioned_users(message)
        )
        role_rows.extend(
            (message.channel_id, message.id, role_id, message.author_id)
            for role_id in mentioned_roles(message)
        )
        event_rows.extend((message.id, e.event_id, e.subject, e.payload) for e in envelopes)
    mark_rows = [(m.user_id, m.channel_id, m.last_read_id) for m in marks]
    read_event_rows = [
        (m.user_id, m.channel_id, m.last_read_id, e.event_id, e.subject, e.payload)
        for m in marks
        for e in m.envelopes
    ]
    params = (
        *_columns(message_rows, 14),
        window_start,
        *_columns(user_rows, 5),
        *_columns(role_rows, 4),
        *_columns(event_rows, 4),
        datetime.now(UTC),
        embed_rows,
        *_columns(mark_rows, 3),
        *_columns(read_event_rows, 6),
    )
    result = await conn.exec_driver_sql(_SEND, params)
    written = Written()
    rows: list[tuple[int, int, int, int]] = [tuple(got) for got in result]
    for kind, first, channel_id, last_read_id in rows:
        if kind == 0:
            written.stored.add(Snowflake(first))
        elif kind == 1:
            written.moved.add((Snowflake(first), Snowflake(channel_id)))
        else:
            written.before[(Snowflake(first), Snowflake(channel_id))] = Snowflake(last_read_id)
    return written
