"""Background jobs and data-export requests in SQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError

from gochat.domain.records import BackgroundJob
from gochat.ids import Snowflake
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import background_jobs, data_exports


def _job(row: Any) -> BackgroundJob:
    return BackgroundJob(
        id=Snowflake(row.id),
        kind=row.kind,
        user_id=Snowflake(row.user_id),
        guild_id=None if row.guild_id is None else Snowflake(row.guild_id),
        params=json.loads(row.params),
        created_at=row.created_at,
    )


def _values(job: BackgroundJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "user_id": job.user_id,
        "guild_id": job.guild_id,
        "params": json.dumps(job.params),
        "created_at": job.created_at,
    }


class SqlJobStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def add(self, job: BackgroundJob) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(background_jobs.insert().values(**_values(job)))

    async def add_export(self, job: BackgroundJob, *, cutoff: datetime) -> datetime | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            # A conditional write, then an insert that the primary key guards: two concurrent
            # requests cannot both pass.
            moved = await conn.execute(
                update(data_exports)
                .where(
                    and_(
                        data_exports.c.user_id == job.user_id, data_exports.c.requested_at <= cutoff
                    )
                )
                .values(requested_at=job.created_at)
            )
            if moved.rowcount != 1:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            data_exports.insert().values(
                                user_id=job.user_id, requested_at=job.created_at
                            )
                        )
                except IntegrityError:
                    previous: datetime | None = await conn.scalar(
                        select(data_exports.c.requested_at).where(
                            data_exports.c.user_id == job.user_id
                        )
                    )
                    return previous or job.created_at
            await conn.execute(background_jobs.insert().values(**_values(job)))
            return None

    async def unfinished(self, limit: int) -> list[BackgroundJob]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(background_jobs)
                .where(background_jobs.c.finished_at.is_(None))
                .order_by(background_jobs.c.id)
                .limit(limit)
            )
            return [_job(r) for r in rows]

    async def finish(self, job_id: Snowflake, *, now: datetime) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(background_jobs)
                .where(background_jobs.c.id == job_id)
                .values(finished_at=now)
            )
