"""Worker jobs and parked events in the relational store (see gochat/storage/jobs.py)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.bus import Envelope
from gochat.storage.jobs import Job, ParkedJob
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import parked_jobs, worker_jobs


def _insert_ignoring_duplicates(conn: AsyncConnection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _among(conn: AsyncConnection, event_ids: Sequence[int]) -> ColumnElement[bool]:
    """`event_id` is one of `event_ids`; on PostgreSQL as one array parameter, so the
    statement's text (and its prepared statement) is the same for any number of ids."""
    column = worker_jobs.c.event_id
    if conn.dialect.name == "postgresql":
        return column == any_(literal(list(event_ids), postgresql.ARRAY(BigInteger)))
    return column.in_(list(event_ids))


class SqlJobStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def enqueue(self, jobs: Sequence[tuple[str, Envelope]], *, now: datetime) -> None:
        if not jobs:
            return
        rows = {
            (worker, e.event_id): {
                "worker": worker,
                "event_id": e.event_id,
                "subject": e.subject,
                "payload": e.payload,
                "due_at": now,
                "attempts": 0,
                "traceparent": e.trace or None,
            }
            for worker, e in jobs
        }
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(_insert_ignoring_duplicates(conn, worker_jobs), list(rows.values()))

    async def claim(
        self, worker: str, *, limit: int, now: datetime, lease_seconds: float
    ) -> list[Job]:
        c = worker_jobs.c
        due = (
            select(c.event_id)
            .where(c.worker == worker, c.due_at <= now)
            .order_by(c.due_at, c.event_id)
            .limit(limit)
        )
        if self._engines.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        claim = (
            update(worker_jobs)
            .where(c.worker == worker, c.event_id.in_(due))
            .values(due_at=now + timedelta(seconds=lease_seconds), attempts=c.attempts + 1)
            .returning(c.event_id, c.subject, c.payload, c.attempts, c.traceparent)
        )
        async with unavailable_on_disconnect(), self._single_statement() as conn:
            rows = (await conn.execute(claim)).all()
        jobs = [
            Job(
                worker=worker,
                envelope=Envelope(
                    subject=r.subject,
                    event_id=r.event_id,
                    payload=r.payload,
                    trace=r.traceparent or "",
                ),
                attempts=r.attempts,
            )
            for r in rows
        ]
        jobs.sort(key=lambda j: j.envelope.event_id)
        return jobs

    async def complete(self, worker: str, event_ids: Sequence[int]) -> None:
        if not event_ids:
            return
        async with unavailable_on_disconnect(), self._single_statement() as conn:
            await conn.execute(
                delete(worker_jobs).where(worker_jobs.c.worker == worker, _among(conn, event_ids))
            )

    async def retry(self, worker: str, event_ids: Sequence[int], *, at: datetime) -> None:
        if not event_ids:
            return
        async with unavailable_on_disconnect(), self._single_statement() as conn:
            await conn.execute(
                update(worker_jobs)
                .where(worker_jobs.c.worker == worker, _among(conn, event_ids))
                .values(due_at=at)
            )

    def _single_statement(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for one statement: autocommit on PostgreSQL (no BEGIN and COMMIT
        round trips), a transaction on SQLite (which takes its write lock at BEGIN)."""
        if self._engines.dialect == "postgresql":
            return self._engines.autocommit.connect()
        return self._engines.write.begin()

    async def pending(self, worker: str) -> int:
        c = worker_jobs.c
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            count = await conn.execute(
                select(func.count()).select_from(worker_jobs).where(c.worker == worker)
            )
            return int(count.scalar_one())

    async def park(self, job: ParkedJob) -> None:
        e = job.envelope
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                _insert_ignoring_duplicates(conn, parked_jobs).values(
                    worker=job.worker,
                    event_id=e.event_id,
                    subject=e.subject,
                    payload=e.payload,
                    error=job.error[:2000],
                    attempts=job.attempts,
                    parked_at=job.parked_at,
                )
            )
            await conn.execute(
                delete(worker_jobs).where(
                    worker_jobs.c.worker == job.worker, worker_jobs.c.event_id == e.event_id
                )
            )

    async def parked(self, *, worker: str | None, limit: int) -> list[ParkedJob]:
        c = parked_jobs.c
        query = select(parked_jobs).order_by(c.parked_at, c.event_id).limit(limit)
        if worker is not None:
            query = query.where(c.worker == worker)
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ParkedJob(
                worker=r.worker,
                envelope=Envelope(subject=r.subject, event_id=r.event_id, payload=r.payload),
                error=r.error,
                attempts=r.attempts,
                parked_at=r.parked_at,
            )
            for r in rows
        ]

    async def unpark(self, worker: str, event_id: int) -> None:
        c = parked_jobs.c
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                delete(parked_jobs).where(c.worker == worker, c.event_id == event_id)
            )
