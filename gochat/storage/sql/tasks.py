"""Background tasks and data-export requests in SQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError

from gochat.domain.records import BackgroundTask
from gochat.ids import Snowflake
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import background_tasks, data_exports


def _task(row: Any) -> BackgroundTask:
    return BackgroundTask(
        id=Snowflake(row.id),
        kind=row.kind,
        user_id=Snowflake(row.user_id),
        guild_id=None if row.guild_id is None else Snowflake(row.guild_id),
        params=json.loads(row.params),
        created_at=row.created_at,
    )


def _values(task: BackgroundTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind,
        "user_id": task.user_id,
        "guild_id": task.guild_id,
        "params": json.dumps(task.params),
        "created_at": task.created_at,
    }


class SqlTaskStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def add(self, task: BackgroundTask) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(background_tasks.insert().values(**_values(task)))

    async def add_export(self, task: BackgroundTask, *, cutoff: datetime) -> datetime | None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            # A conditional write, then an insert that the primary key guards: two concurrent
            # requests cannot both pass.
            moved = await conn.execute(
                update(data_exports)
                .where(
                    and_(
                        data_exports.c.user_id == task.user_id,
                        data_exports.c.requested_at <= cutoff,
                    )
                )
                .values(requested_at=task.created_at)
            )
            if moved.rowcount != 1:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            data_exports.insert().values(
                                user_id=task.user_id, requested_at=task.created_at
                            )
                        )
                except IntegrityError:
                    previous: datetime | None = await conn.scalar(
                        select(data_exports.c.requested_at).where(
                            data_exports.c.user_id == task.user_id
                        )
                    )
                    return previous or task.created_at
            await conn.execute(background_tasks.insert().values(**_values(task)))
            return None

    async def unfinished(self, limit: int) -> list[BackgroundTask]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(background_tasks)
                .where(background_tasks.c.finished_at.is_(None))
                .order_by(background_tasks.c.id)
                .limit(limit)
            )
            return [_task(r) for r in rows]

    async def finish(self, task_id: Snowflake, *, now: datetime) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(background_tasks)
                .where(background_tasks.c.id == task_id)
                .values(finished_at=now)
            )
