"""The presence port: which sessions of a user are connected, and what the user shows others.

Each session reports its own status with a TTL and refreshes it while connected; a session that
stops refreshing (crash, lost network) expires on its own. Adapters: in-process (one server) and
Redis (several servers). Both combine sessions with `combine`, so the rules live in one place.
A session that lapses without being removed (its process died) is noticed by `claim_lapsed`,
which a sweeper polls to announce that user's new presence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from gochat.domain.records import Presence, PresenceStatus, SessionPresence
from gochat.ids import Snowflake

# Higher wins when a user's sessions disagree.
_RANK = {PresenceStatus.IDLE: 1, PresenceStatus.ONLINE: 2, PresenceStatus.DND: 3}


def check_status(status: PresenceStatus) -> None:
    if status is PresenceStatus.OFFLINE:
        raise ValueError("a session cannot report offline; remove it instead")


def check_reportable(status: PresenceStatus, ttl_seconds: float) -> None:
    check_status(status)
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")


def combine(user_id: Snowflake, sessions: Iterable[SessionPresence]) -> Presence:
    """What others see: OFFLINE without a live session, and OFFLINE when any session is
    invisible (hiding wins over another device that still says online); otherwise the highest
    of dnd > online > idle, with the custom status reported most recently."""
    live = list(sessions)
    if not live or any(s.status is PresenceStatus.INVISIBLE for s in live):
        return Presence(user_id=user_id, status=PresenceStatus.OFFLINE)
    status = max((s.status for s in live), key=_RANK.__getitem__)
    custom = [s for s in live if s.custom_status]
    newest = max(custom, key=lambda s: (s.updated_at, s.session_id)) if custom else None
    return Presence(
        user_id=user_id,
        status=status,
        custom_status=newest.custom_status if newest else None,
    )


class PresenceStore(Protocol):
    async def set(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
        ttl_seconds: float,
    ) -> None:
        """Record the session's report, replacing its earlier one, live for `ttl_seconds`.
        Raises ValueError for OFFLINE or a TTL that is not positive."""

    async def refresh(
        self, user_id: Snowflake, session_id: Snowflake, *, ttl_seconds: float
    ) -> bool:
        """Keep a live session for another `ttl_seconds`. False when it already expired or was
        removed: the caller reports it again with `set`."""

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
    ) -> bool:
        """Replace a live session's report, keeping the expiry it has (a session lingering
        after its connection closed still lapses when it would have). False, and nothing
        written, when it already expired or was removed. Raises ValueError for OFFLINE."""

    async def remove(self, user_id: Snowflake, session_id: Snowflake) -> None:
        """Forget the session at once (disconnect). Removing an unknown session is a no-op."""

    async def get_many(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, Presence]:
        """How others see each user, per `combine`; every requested id has an entry."""

    async def list_sessions(self, user_id: Snowflake) -> list[SessionPresence]:
        """The user's live sessions as reported (invisible included), by session id; for the
        user's own devices only."""

    async def swap_shown(self, presence: Presence) -> bool:
        """Record `presence` as the one last announced for its user, across every process
        sharing the store; True when it differs from the one recorded before (or none was),
        that is when it must be announced. Of concurrent callers with the same presence,
        one gets True. A record may be forgotten (after a day, or when the store evicts it),
        which costs one repeated announcement, never a missed one."""

    async def claim_lapsed(self, *, limit: int = 100) -> list[Snowflake]:
        """Users one of whose sessions expired (or was pruned as expired) since they were last
        claimed, at most `limit`. Each lapse is handed to exactly one caller, across every
        process sharing the store, so exactly one of them announces the new presence."""

    async def close(self) -> None: ...
