"""Presence that survives its shared store going away.

Every write goes to the shared store (Redis) and to an in-process mirror of this process's
own sessions. While the shared store is unreachable, reads and writes use the mirror: presence
degrades to what this process knows instead of failing. Once it is back, the sessions that
were only in the mirror come back with the next refresh, which finds them missing (`refresh`
returns False) and reports them again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import structlog

from gochat.domain.records import Presence, PresenceStatus, SessionPresence
from gochat.errors import Unavailable
from gochat.ids import Snowflake
from gochat.presence import PresenceStore

log = structlog.get_logger("gochat.presence")

T = TypeVar("T")


class FallbackPresenceStore:
    def __init__(self, shared: PresenceStore, local: PresenceStore) -> None:
        self._shared = shared
        self._local = local
        self.degraded = False
        self._stale_shown: set[Snowflake] = set()  # announced while the shared store was away

    async def _try(self, call: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        try:
            result = await call()
        except Unavailable:
            if not self.degraded:
                log.warning("presence.degraded", detail="shared presence store unreachable")
            self.degraded = True
            return False, None
        if self.degraded:
            log.info("presence.recovered")
            self.degraded = False
        return True, result

    async def set(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
        ttl_seconds: float,
    ) -> None:
        await self._local.set(
            user_id, session_id, status=status, custom_status=custom_status, ttl_seconds=ttl_seconds
        )
        await self._try(
            lambda: self._shared.set(
                user_id,
                session_id,
                status=status,
                custom_status=custom_status,
                ttl_seconds=ttl_seconds,
            )
        )

    async def refresh(
        self, user_id: Snowflake, session_id: Snowflake, *, ttl_seconds: float
    ) -> bool:
        local = await self._local.refresh(user_id, session_id, ttl_seconds=ttl_seconds)
        ok, shared = await self._try(
            lambda: self._shared.refresh(user_id, session_id, ttl_seconds=ttl_seconds)
        )
        return bool(shared) if ok else local

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
    ) -> bool:
        local = await self._local.update(
            user_id, session_id, status=status, custom_status=custom_status
        )
        ok, shared = await self._try(
            lambda: self._shared.update(
                user_id, session_id, status=status, custom_status=custom_status
            )
        )
        return bool(shared) if ok else local

    async def remove(self, user_id: Snowflake, session_id: Snowflake) -> None:
        await self._local.remove(user_id, session_id)
        await self._try(lambda: self._shared.remove(user_id, session_id))

    async def get_many(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, Presence]:
        ok, shared = await self._try(lambda: self._shared.get_many(user_ids))
        if ok and shared is not None:
            return shared
        return await self._local.get_many(user_ids)

    async def list_sessions(self, user_id: Snowflake) -> list[SessionPresence]:
        ok, shared = await self._try(lambda: self._shared.list_sessions(user_id))
        if ok and shared is not None:
            return shared
        return await self._local.list_sessions(user_id)

    async def swap_shown(self, presence: Presence) -> bool:
        local = await self._local.swap_shown(presence)
        ok, shared = await self._try(lambda: self._shared.swap_shown(presence))
        user_id = presence.user_id
        if not ok:
            # The shared record missed this announcement: until it is written again, it may
            # equal a presence others no longer see (ONLINE, while the outage announced OFFLINE).
            self._stale_shown.add(user_id)
            return local
        if user_id in self._stale_shown:
            self._stale_shown.discard(user_id)
            return bool(shared) or local
        return bool(shared)

    async def claim_lapsed(self, *, limit: int = 100) -> list[Snowflake]:
        # The mirror's lapses are this process's own sessions, which the shared store also
        # holds: claim from the mirror only while the shared store cannot be asked.
        ok, shared = await self._try(lambda: self._shared.claim_lapsed(limit=limit))
        local = await self._local.claim_lapsed(limit=limit)
        if ok and shared is not None:
            return shared
        return local

    async def close(self) -> None:
        await self._local.close()
        await self._shared.close()
