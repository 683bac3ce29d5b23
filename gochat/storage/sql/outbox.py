"""The transactional outbox: event rows written with the state change they describe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.bus import Envelope
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import outbox


async def append_tx(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    if not envelopes:
        return
    now = datetime.now(UTC)
    await conn.execute(
        outbox.insert(),
        [
            {
                "event_id": e.event_id,
                "subject": e.subject,
                "payload": e.payload,
                "created_at": now,
                "attempts": 0,
            }
            for e in envelopes
        ],
    )


class SqlOutboxStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def mark_published(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        keys = [(e.event_id, e.subject) for e in envelopes]
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                delete(outbox).where(tuple_(outbox.c.event_id, outbox.c.subject).in_(keys))
            )

    async def pending(self, *, older_than: datetime, limit: int) -> list[Envelope]:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.event_id, outbox.c.subject, outbox.c.payload)
                    .where(outbox.c.created_at < older_than)
                    .order_by(outbox.c.created_at, outbox.c.event_id)
                    .limit(limit)
                )
            ).all()
            if rows:
                await conn.execute(
                    update(outbox)
                    .where(
                        tuple_(outbox.c.event_id, outbox.c.subject).in_(
                            [(r[0], r[1]) for r in rows]
                        )
                    )
                    .values(attempts=outbox.c.attempts + 1)
                )
        return [Envelope(subject=r.subject, event_id=r.event_id, payload=r.payload) for r in rows]
