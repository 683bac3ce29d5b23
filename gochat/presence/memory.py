"""In-process presence: the embedded default. Expiry uses the monotonic clock."""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime

from gochat.domain.records import Presence, PresenceStatus, SessionPresence
from gochat.ids import Snowflake
from gochat.presence import check_reportable, check_status, combine

_PRUNE_EVERY = 1024
_SHOWN_MAX = 100_000  # users whose last announcement is remembered


def _report(
    user_id: Snowflake, session_id: Snowflake, status: PresenceStatus, custom_status: str | None
) -> SessionPresence:
    return SessionPresence(
        user_id=user_id,
        session_id=session_id,
        status=status,
        custom_status=custom_status,
        updated_at=datetime.now(UTC),
    )


class MemoryPresenceStore:
    def __init__(self) -> None:
        # user id -> session id -> (report, monotonic expiry)
        self._users: dict[Snowflake, dict[Snowflake, tuple[SessionPresence, float]]] = {}
        self._writes = 0
        # When each user's next session lapses; the heap holds (time, user) and may hold stale
        # entries, which `claim_lapsed` skips when they no longer match `_lapse_at`.
        self._lapse_at: dict[Snowflake, float] = {}
        self._lapses: list[tuple[float, Snowflake]] = []
        self._shown: OrderedDict[Snowflake, Presence] = OrderedDict()  # least recent first

    def _live(self, user_id: Snowflake) -> dict[Snowflake, tuple[SessionPresence, float]]:
        sessions = self._users.get(user_id)
        if sessions is None:
            return {}
        now = time.monotonic()
        expired = [k for k, (_, expires) in sessions.items() if expires <= now]
        for session_id in expired:
            del sessions[session_id]
        if expired:
            self._schedule(user_id, now)  # a lapse seen here must still be announced
        if not sessions:
            del self._users[user_id]
        return sessions

    def _schedule(self, user_id: Snowflake, at: float | None = None) -> None:
        if at is None:
            sessions = self._users.get(user_id)
            if not sessions:
                self._lapse_at.pop(user_id, None)
                return
            at = min(expires for _, expires in sessions.values())
        current = self._lapse_at.get(user_id)
        if current is not None and current <= time.monotonic() and current < at:
            return  # a lapse is already due; keep it until claimed
        self._lapse_at[user_id] = at
        heapq.heappush(self._lapses, (at, user_id))

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
        report = _report(user_id, session_id, status, custom_status)
        sessions = self._live(user_id)
        self._users[user_id] = sessions
        sessions[session_id] = (report, time.monotonic() + ttl_seconds)
        self._schedule(user_id)

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
        self._schedule(user_id)
        return True

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
    ) -> bool:
        check_status(status)
        sessions = self._live(user_id)
        if session_id not in sessions:
            return False
        _, expires = sessions[session_id]
        sessions[session_id] = (_report(user_id, session_id, status, custom_status), expires)
        return True

    async def remove(self, user_id: Snowflake, session_id: Snowflake) -> None:
        sessions = self._users.get(user_id)
        if sessions is not None:
            sessions.pop(session_id, None)
            if not sessions:
                del self._users[user_id]
            self._schedule(user_id)

    async def get_many(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, Presence]:
        return {
            user_id: combine(user_id, (r for r, _ in self._live(user_id).values()))
            for user_id in user_ids
        }

    async def list_sessions(self, user_id: Snowflake) -> list[SessionPresence]:
        return sorted((r for r, _ in self._live(user_id).values()), key=lambda r: r.session_id)

    async def swap_shown(self, presence: Presence) -> bool:
        shown = self._shown
        if shown.get(presence.user_id) == presence:
            shown.move_to_end(presence.user_id)
            return False
        shown[presence.user_id] = presence
        shown.move_to_end(presence.user_id)
        while len(shown) > _SHOWN_MAX:
            shown.popitem(last=False)
        return True

    async def claim_lapsed(self, *, limit: int = 100) -> list[Snowflake]:
        now = time.monotonic()
        claimed: list[Snowflake] = []
        while self._lapses and self._lapses[0][0] <= now and len(claimed) < limit:
            at, user_id = heapq.heappop(self._lapses)
            if self._lapse_at.get(user_id) != at or user_id in claimed:
                continue
            del self._lapse_at[user_id]
            claimed.append(user_id)
            self._live(user_id)
            self._lapse_at.pop(user_id, None)  # _live may have re-marked the lapse just claimed
            self._schedule(user_id)
        return claimed

    async def close(self) -> None:
        self._users.clear()
        self._lapse_at.clear()
        self._lapses.clear()
