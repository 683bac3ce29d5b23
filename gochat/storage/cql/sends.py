"""Writing a new message to Cassandra/ScyllaDB, and the rows every part of the store shares.

A message, its lookup row, its mention rows and its outbox events go in one logged batch. A
send with a nonce first claims it with a lightweight transaction (TTL: the idempotency window),
so concurrent retries store one message. The claim carries the whole message and a lease: the
claimant writes its batch only while the lease lasts, and a retry that finds the lease run out
with nothing written (the claimant died between claim and batch) takes the lease over and
writes the claimed message itself. Deleting a message leaves a marker (deleted_messages), so a
retry can tell "sent and then deleted" (a Conflict) from "never written".

No API process's wall clock decides a lease, since theirs may differ by any amount. A lease
starts at its claim's write time, which a lightweight transaction takes from the Cassandra
coordinator's clock (its Paxos ballot), and a retry reads that time and the cluster's `now()`
together to tell whether it ran out. The claimant counts its lease on its own monotonic clock
from before it sent the claim, so it stops writing before any retry can take over, as long as
the Cassandra nodes' clocks (which Cassandra itself needs in sync) agree within the margin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from cassandra.query import BatchStatement, BatchType

from gochat.domain.records import Mentions, Message, MessageFlag, MessageType
from gochat.errors import Conflict, Unavailable
from gochat.ids import Snowflake
from gochat.storage import EventsOf
from gochat.storage.cql import CqlSession
from gochat.storage.cql.outbox import CqlOutboxStore
from gochat.storage.embeds import embeds_from_json, embeds_json

log = structlog.get_logger("gochat.storage.cql")

BUCKET_MS = 10 * 86_400_000
# Longer than any idempotency window: a claim never outlives the marker of its deleted message.
DELETED_MARKER_TTL_SECONDS = 7 * 86_400
# A claimant writes its batch only within its lease, and each batch's timeout fits in it, so a
# retry that takes over a lapsed lease never races the claimant's own write. The margin covers
# the Cassandra nodes' clock differences and the time a claim takes to reach a node.
CLAIM_LEASE_SECONDS = 15.0
LEASE_MARGIN_SECONDS = 2.0
BATCH_TIMEOUT_SECONDS = 10.0
# How long a retry waits for a live claimant's batch before answering Unavailable (retry).
NONCE_WAIT_SECONDS = 5.0
NONCE_POLL_SECONDS = 0.05
_TIME_SHIFT = 22


def bucket(snowflake: int) -> int:
    return (snowflake >> _TIME_SHIFT) // BUCKET_MS


def message_from_row(row: Any) -> Message:
    return Message(
        id=Snowflake(row.id),
        channel_id=Snowflake(row.channel_id),
        guild_id=None if row.guild_id is None else Snowflake(row.guild_id),
        author_id=Snowflake(row.author_id),
        type=MessageType(row.type),
        content=row.content or "",
        reference_id=None if row.reference_id is None else Snowflake(row.reference_id),
        mentions=Mentions(
            user_ids=tuple(Snowflake(i) for i in row.mention_user_ids or ()),
            role_ids=tuple(Snowflake(i) for i in row.mention_role_ids or ()),
            everyone=bool(row.mention_everyone),
        ),
        pinned=bool(row.pinned),
        edited_at=None if row.edited_at is None else row.edited_at.replace(tzinfo=UTC),
        flags=MessageFlag(row.flags or 0),
        embeds=embeds_from_json(row.embeds),
        generated_embeds=embeds_from_json(row.generated_embeds),
        generated_for=row.generated_for,
    )


_CLAIM_COLUMNS = (
    "message_id, lease_until, guild_id, type, content, reference_id, mention_user_ids, "
    "mention_role_ids, mention_everyone, embeds"
)
_CLAIM_MARKS = ", ".join("?" for _ in _CLAIM_COLUMNS.split(", "))


def _claim_values(message: Message, lease_until: datetime) -> tuple[Any, ...]:
    return (
        message.id,
        lease_until,
        message.guild_id,
        int(message.type),
        message.content,
        message.reference_id,
        list(message.mentions.user_ids),
        list(message.mentions.role_ids),
        message.mentions.everyone,
        embeds_json(message.embeds),
    )


def _claimed_message(claim: Any) -> Message:
    """The message a claim (a row of message_claims) was made for."""
    return Message(
        id=Snowflake(claim.message_id),
        channel_id=Snowflake(claim.channel_id),
        guild_id=None if claim.guild_id is None else Snowflake(claim.guild_id),
        author_id=Snowflake(claim.author_id),
        type=MessageType(claim.type),
        content=claim.content or "",
        reference_id=None if claim.reference_id is None else Snowflake(claim.reference_id),
        mentions=Mentions(
            user_ids=tuple(Snowflake(i) for i in claim.mention_user_ids or ()),
            role_ids=tuple(Snowflake(i) for i in claim.mention_role_ids or ()),
            everyone=bool(claim.mention_everyone),
        ),
        pinned=False,
        edited_at=None,
        embeds=embeds_from_json(claim.embeds),
    )


def no_fault() -> None:
    pass


class MessageWriter:
    """The send path of CqlMessageStore, and the statements its other writes share."""

    def __init__(
        self,
        cql: CqlSession,
        outbox: CqlOutboxStore,
        *,
        after_claim: Callable[[], None] = no_fault,
    ) -> None:
        """`after_claim` runs between a nonce's claim and the message's batch (fault injection
        in tests of the crash that falls there)."""
        self._cql = cql
        self._outbox = outbox
        self._ks = cql.target.keyspace
        self._after_claim = after_claim

    def _t(self, table: str) -> str:
        return f"{self._ks}.{table}"

    async def row(self, channel_id: int, message_id: int) -> Any:
        rows = await self._cql.execute(
            f"SELECT * FROM {self._t('messages')} WHERE channel_id = ? AND bucket = ? AND id = ?",
            (channel_id, bucket(message_id), message_id),
        )
        return rows[0] if rows else None

    def _lease(self) -> tuple[datetime, float]:
        """A claim's lease_until (only a token that conditions compare: the lease is timed by
        the claim's write time) and the claimant's deadline on its monotonic clock."""
        until = datetime.now(UTC) + timedelta(seconds=CLAIM_LEASE_SECONDS)
        return until, time.monotonic() + CLAIM_LEASE_SECONDS

    async def insert_once(
        self,
        message: Message,
        *,
        nonce: str | None,
        window_start: datetime,
        events: EventsOf[Message],
    ) -> tuple[Message, bool]:
        if nonce is None:
            await self._write(message, events, deadline=None)
            return message, True
        key = (message.channel_id, message.author_id, nonce)
        ttl = max(1, int((datetime.now(UTC) - window_start).total_seconds()))
        lease_until, deadline = self._lease()
        claimed = await self._cql.execute(
            f"INSERT INTO {self._t('message_claims')} (channel_id, author_id, nonce, "
            f"{_CLAIM_COLUMNS}) VALUES (?, ?, ?, {_CLAIM_MARKS}) IF NOT EXISTS USING TTL {ttl}",
            (*key, *_claim_values(message, lease_until)),
        )
        if claimed[0].applied:
            self._after_claim()
            await self._write(message, events, deadline=deadline)
            return message, True
        return await self._finish_claimed(key, claimed[0], ttl, events)

    async def _finish_claimed(
        self, key: tuple[int, int, str], claim: Any, ttl: int, events: EventsOf[Message]
    ) -> tuple[Message, bool]:
        """A send whose nonce another send claimed: that send's message once it is written; a
        Conflict once it was deleted; and when the claimant's lease ran out with nothing
        written (it died between its claim and its batch), the claimed message, written here."""
        channel_id = key[0]
        give_up = time.monotonic() + NONCE_WAIT_SECONDS
        # When the lease may have run out, on this process's monotonic clock; confirmed by the
        # cluster's clock before a takeover.
        recheck_at = time.monotonic()
        while True:
            outcome = await self._written_or_deleted(channel_id, claim.message_id)
            if outcome is not None:
                return outcome
            if time.monotonic() >= recheck_at:
                lease = await self._lease_left(key)
                if lease is None:
                    raise Unavailable("the send with this nonce expired meanwhile; retry")
                token, seconds_left = lease
                if seconds_left > 0:
                    recheck_at = time.monotonic() + seconds_left
                else:
                    taken = await self._take_over(key, claim, token, ttl, events)
                    if taken is not None:
                        return taken
            if time.monotonic() > give_up:
                raise Unavailable("the first send with this nonce is still being stored; retry")
            await asyncio.sleep(NONCE_POLL_SECONDS)

    async def _lease_left(self, key: tuple[int, int, str]) -> tuple[datetime | None, float] | None:
        """The claim's lease token and the seconds its lease has left by the cluster's clock
        (<= 0: run out); None when the claim expired."""
        rows = await self._cql.execute(
            "SELECT lease_until, writetime(lease_until) AS leased_at, "
            f"toTimestamp(now()) AS server_now FROM {self._t('message_claims')} "
            "WHERE channel_id = ? AND author_id = ? AND nonce = ?",
            key,
        )
        if not rows:
            return None
        row = rows[0]
        if row.leased_at is None:  # a claim without a lease: free to take over
            return row.lease_until, 0.0
        now_us = int(row.server_now.replace(tzinfo=UTC).timestamp() * 1_000_000)
        return row.lease_until, CLAIM_LEASE_SECONDS - (now_us - row.leased_at) / 1_000_000

    async def _take_over(
        self,
        key: tuple[int, int, str],
        claim: Any,
        token: datetime | None,
        ttl: int,
        events: EventsOf[Message],
    ) -> tuple[Message, bool] | None:
        """Take a run-out lease over and write the claimed message; None when another retry
        took it first (its lease runs now)."""
        lease_until, deadline = self._lease()
        taken = await self._cql.execute(
            f"UPDATE {self._t('message_claims')} USING TTL {ttl} SET "
            + ", ".join(f"{c} = ?" for c in _CLAIM_COLUMNS.split(", "))
            + " WHERE channel_id = ? AND author_id = ? AND nonce = ? IF lease_until = ?",
            (*_claim_values(_claimed_message(claim), lease_until), *key, token),
        )
        if not taken[0].applied:
            if taken[0].lease_until is None:
                raise Unavailable("the send with this nonce expired meanwhile; retry")
            return None
        # Written (or deleted) just before the lease ran out?
        outcome = await self._written_or_deleted(key[0], claim.message_id)
        if outcome is not None:
            return outcome
        message = _claimed_message(claim)
        log.warning("messages.claim_completed", message_id=message.id)
        await self._write(message, events, deadline=deadline)
        return message, True

    async def _written_or_deleted(
        self, channel_id: int, message_id: int
    ) -> tuple[Message, bool] | None:
        row = await self.row(channel_id, message_id)
        if row is not None:
            return message_from_row(row), False
        deleted = await self._cql.execute(
            f"SELECT id FROM {self._t('deleted_messages')} WHERE id = ?", (message_id,)
        )
        if deleted:
            raise Conflict("a message with this nonce was sent and then deleted")
        return None

    async def _write(
        self, message: Message, events: EventsOf[Message], *, deadline: float | None
    ) -> None:
        """The message, its lookup rows, its mentions and its events in one logged batch; under
        a claim's lease (`deadline`, monotonic), only while the lease lasts (after it, a retry
        may write the message)."""
        timeout = BATCH_TIMEOUT_SECONDS
        if deadline is not None:
            left = deadline - time.monotonic() - LEASE_MARGIN_SECONDS
            if left <= 0:
                raise Unavailable("the message store is too slow; retry with the same nonce")
            timeout = min(timeout, left)
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(
            await self._cql.prepare(
                f"INSERT INTO {self._t('messages')} (channel_id, bucket, id, guild_id, author_id, type, content, "
                "reference_id, mention_user_ids, mention_role_ids, mention_everyone, pinned, edited_at, "
                "flags, embeds, generated_embeds, generated_for) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                message.channel_id,
                bucket(message.id),
                message.id,
                message.guild_id,
                message.author_id,
                int(message.type),
                message.content,
                message.reference_id,
                list(message.mentions.user_ids),
                list(message.mentions.role_ids),
                message.mentions.everyone,
                message.pinned,
                message.edited_at,
                int(message.flags),
                embeds_json(message.embeds),
                embeds_json(message.generated_embeds),
                message.generated_for,
            ),
        )
        batch.add(
            await self._cql.prepare(
                f"INSERT INTO {self._t('messages_by_id')} (id, channel_id) VALUES (?, ?)"
            ),
            (message.id, message.channel_id),
        )
        batch.add(
            await self._cql.prepare(
                f"INSERT INTO {self._t('last_messages')} (channel_id, message_id) VALUES (?, ?)"
            ),
            (message.channel_id, message.id),
        )
        await self._mention_statements(batch, message)
        await self._outbox.append(batch, events(message))
        await self._cql.execute(batch, request_timeout=timeout)

    async def _mention_statements(self, batch: BatchStatement, message: Message) -> None:
        by_user = await self._cql.prepare(
            f"INSERT INTO {self._t('mentions')} (user_id, message_id, channel_id, guild_id, author_id) VALUES (?, ?, ?, ?, ?)"
        )
        by_channel = await self._cql.prepare(
            f"INSERT INTO {self._t('mentions_by_channel')} (user_id, channel_id, message_id) VALUES (?, ?, ?)"
        )
        for user_id in message.mentions.user_ids:
            if user_id == message.author_id:
                continue
            batch.add(
                by_user,
                (user_id, message.id, message.channel_id, message.guild_id, message.author_id),
            )
            batch.add(by_channel, (user_id, message.channel_id, message.id))
        roles = list(message.mentions.role_ids)
        if message.mentions.everyone and message.guild_id is not None:
            roles.append(message.guild_id)
        by_role = await self._cql.prepare(
            f"INSERT INTO {self._t('channel_mentions')} (channel_id, message_id, role_id, author_id) VALUES (?, ?, ?, ?)"
        )
        for role_id in roles:
            batch.add(by_role, (message.channel_id, message.id, role_id, message.author_id))
