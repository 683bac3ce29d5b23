"""In-process presence: the embedded default. Expiry uses the monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from gochat.domain.records import Presence, PresenceStatus, SessionPresence
from gochat.ids import Snowflake
from gochat.presence import check_reportable, combine

_PRUNE_EVERY = 1024


class MemoryPresenceStore:
    def __init__(self) -> None:
        # user id -> session id -> (report, monotonic expiry)
        self._users: dict[Snowflake, dict[Snowflake, tuple[SessionPresence, float]]] = {}
        self._writes = 0

    def _live(self, user_id: Snowflake) -> dict[Snowflake, tuple[SessionPresence, float]]:
        sessions = self._users.get(user_id)
        if sessions is None:
            return {}
        now = time.monotonic()
        for session_id in [k for k, (_, expires) in sessions.items() if expires <= now]:
            del sessions[session_id]
        if not sessions:
            del self._users[user_id]
        return sessions

    def _prune_now_and_then(self) -> None:
        # Users who vanish without a remove() would otherwise stay in memory forever.
        self._writes += 1
        if self._writes % _PRUNE_EVERY == 0:
            for user_id in list(self._users):
                self._live(user_id)

    async def set(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
        ttl_seconds: float,
    ) -> None:
        check_reportable(status, ttl_seconds)
        self._prune_now_and_then()
        report = SessionPresence(
            user_id=user_id,
            session_id=session_id,
            status=status,
            custom_status=custom_status,
            updated_at=datetime.now(UTC),
        )
        sessions = self._users.setdefault(user_id, {})
        sessions[session_id] = (report, time.monotonic() + ttl_seconds)

    async def refresh(
        self, user_id: Snowflake, session_id: Snowflake, *, ttl_seconds: float
    ) -> bool:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        sessions = self._live(user_id)
        if session_id not in sessions:
            return False
        report, _ = sessions[session_id]
        sessions[session_id] = (report, time.monotonic() + ttl_seconds)
        return True

    async def remove(self, user_id: Snowflake, session_id: Snowflake) -> None:
        sessions = self._users.get(user_id)
        if sessions is not None:
            sessions.pop(session_id, None)
            if not sessions:
                del self._users[user_id]

    async def get_many(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, Presence]:
        return {
            user_id: combine(user_id, (r for r, _ in self._live(user_id).values()))
            for user_id in user_ids
        }

    async def list_sessions(self, user_id: Snowflake) -> list[SessionPresence]:
        return sorted((r for r, _ in self._live(user_id).values()), key=lambda r: r.session_id)

    async def close(self) -> None:
        self._users.clear()
