"""The Cassandra/ScyllaDB outbox: event rows written in the logged batch of the change they
describe, and read back by the outbox relay.

A row's partition is the minute of its event id (a snowflake made just before the batch) and a
shard of that id, so the relay reads a handful of small partitions per pass, by clustering
range, and never scans the table. A pass starts at a watermark: ids below it were found
confirmed by an earlier pass (rows confirmed are deleted, and the rest expire with the TTL).
Because a logged batch can land a while after its events were made (a timeout, then the
batchlog's replay), a pass every REACH_BACK_EVERY_SECONDS reads from SETTLE_SECONDS below the
watermark. The watermark is also kept in the keyspace, so a process that starts reads on from
where the relays left off instead of rereading the week the rows live. Several processes may
relay at once: the bus drops the duplicates by event id.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cassandra.query import BatchStatement, BatchType

from gochat.bus import Envelope
from gochat.ids import GOCHAT_EPOCH_MS
from gochat.storage.cql import CqlSession

OUTBOX_TTL_SECONDS = 7 * 86_400
BUCKET_MS = 60_000
# Part of the row key: rows written under another shard count would never be read again.
SHARDS = 8
# Longer than a batch's timeout plus the batchlog's replay of a batch whose coordinator died.
SETTLE_SECONDS = 120.0
REACH_BACK_EVERY_SECONDS = 30.0
_TIME_SHIFT = 22
_PROGRESS_KEY = "relay"
# No row of the outbox table is older than the migration that created it.
_TABLE_MIGRATION = "0004_outbox_events"


def id_at(moment: datetime) -> int:
    """The smallest snowflake made at `moment` or later."""
    return max(0, int(moment.timestamp() * 1000) - GOCHAT_EPOCH_MS) << _TIME_SHIFT


def outbox_bucket(event_id: int) -> int:
    return (event_id >> _TIME_SHIFT) // BUCKET_MS


def outbox_shard(event_id: int) -> int:
    # Not event_id % SHARDS: the low bits are the per-millisecond sequence, mostly 0.
    return zlib.crc32(event_id.to_bytes(8, "big")) % SHARDS


def _bucket_start(bucket: int) -> int:
    return (bucket * BUCKET_MS) << _TIME_SHIFT


class CqlOutboxStore:
    """The OutboxStore of the CQL message store."""

    def __init__(
        self, cql: CqlSession, *, reach_back_every_seconds: float = REACH_BACK_EVERY_SECONDS
    ) -> None:
        self._cql = cql
        self._reach_back_every = reach_back_every_seconds
        self._ks = cql.target.keyspace
        self._clean_below: int | None = None
        self._saved_clean_below: int | None = None
        self._reached_back_at: float | None = None

    def _t(self, table: str) -> str:
        return f"{self._ks}.{table}"

    async def append(self, batch: BatchStatement, envelopes: Sequence[Envelope]) -> None:
        """Add the envelopes' rows to the change's logged batch."""
        insert = await self._cql.prepare(
            f"INSERT INTO {self._t('outbox_events')} (bucket, shard, event_id, subject, payload) "
            f"VALUES (?, ?, ?, ?, ?) USING TTL {OUTBOX_TTL_SECONDS}"
        )
        for e in envelopes:
            key = (outbox_bucket(e.event_id), outbox_shard(e.event_id))
            batch.add(insert, (*key, e.event_id, e.subject, e.payload))

    async def mark_published(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        delete = await self._cql.prepare(
            f"DELETE FROM {self._t('outbox_events')} "
            "WHERE bucket = ? AND shard = ? AND event_id = ? AND subject = ?"
        )
        # One unlogged batch per partition: a single mutation each, no batchlog needed.
        by_partition: dict[tuple[int, int], list[Envelope]] = defaultdict(list)
        for e in envelopes:
            by_partition[(outbox_bucket(e.event_id), outbox_shard(e.event_id))].append(e)
        batches = []
        for key, rows in by_partition.items():
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for e in rows:
                batch.add(delete, (*key, e.event_id, e.subject))
            batches.append(batch)
        await asyncio.gather(*(self._cql.execute(b) for b in batches))

    async def pending(self, *, older_than: datetime, limit: int) -> list[Envelope]:
        """Rows with event ids made before `older_than`, oldest minute first."""
        upper = min(id_at(older_than), id_at(datetime.now(UTC)))
        lower = await self._start(upper)
        reach_back = (
            self._reached_back_at is None
            or time.monotonic() - self._reached_back_at >= self._reach_back_every
        )
        if reach_back:
            lower -= int(SETTLE_SECONDS * 1000) << _TIME_SHIFT
        lower = max(lower, id_at(datetime.now(UTC)) - (OUTBOX_TTL_SECONDS * 1000 << _TIME_SHIFT))
        found: list[Envelope] = []
        clean_below = upper
        for bucket in range(outbox_bucket(lower), outbox_bucket(upper) + 1):
            rows = await self._bucket_rows(bucket, lower, upper, limit - len(found))
            if rows and not found:
                clean_below = max(lower, _bucket_start(bucket))
            found.extend(rows)
            if len(found) >= limit:
                break
        # Below where rows were found, everything was confirmed; from there on, the next pass
        # reads again (a watermark back below the last one when a reach-back found rows).
        await self._advance(clean_below)
        if reach_back:
            self._reached_back_at = time.monotonic()
        return found[:limit]

    async def _bucket_rows(self, bucket: int, lower: int, upper: int, limit: int) -> list[Envelope]:
        select = await self._cql.prepare(
            f"SELECT event_id, subject, payload FROM {self._t('outbox_events')} "
            "WHERE bucket = ? AND shard = ? AND event_id >= ? AND event_id < ? LIMIT ?"
        )
        shards = await asyncio.gather(
            *(
                self._cql.execute(select, (bucket, shard, lower, upper, limit))
                for shard in range(SHARDS)
            )
        )
        rows: list[Any] = sorted((r for shard in shards for r in shard), key=lambda r: r.event_id)
        return [Envelope(subject=r.subject, event_id=r.event_id, payload=r.payload) for r in rows]

    async def _start(self, upper: int) -> int:
        """The watermark: this process's, or the one the relays saved, or else the time the
        outbox table was created."""
        if self._clean_below is None:
            rows = await self._cql.execute(
                f"SELECT clean_below FROM {self._t('outbox_progress')} WHERE name = ?",
                (_PROGRESS_KEY,),
            )
            if rows and rows[0].clean_below is not None:
                saved = int(rows[0].clean_below)
            else:
                created = await self._cql.execute(
                    f"SELECT applied_at FROM {self._t('schema_migrations')} WHERE version = ?",
                    (_TABLE_MIGRATION,),
                )
                applied_at = created[0].applied_at if created else None
                saved = 0 if applied_at is None else id_at(applied_at.replace(tzinfo=UTC))
            self._clean_below = self._saved_clean_below = min(saved, upper)
        return self._clean_below

    async def _advance(self, clean_below: int) -> None:
        self._clean_below = clean_below
        # Saved about once a settle period (a restart rereads at most that much more), and at
        # once when rows turned up below the saved mark.
        saved = self._saved_clean_below or 0
        step = int(SETTLE_SECONDS * 1000) << _TIME_SHIFT
        if clean_below - saved >= step or clean_below < saved:
            await self._cql.execute(
                f"UPDATE {self._t('outbox_progress')} SET clean_below = ? WHERE name = ?",
                (clean_below, _PROGRESS_KEY),
            )
            self._saved_clean_below = clean_below
