"""The sessions port: login sessions and their rotating refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from gochat.domain.records import ClientInfo, RefreshOutcome, Session
from gochat.ids import Snowflake
from gochat.storage.events import EventsOf


class SessionStore(Protocol):
    async def create_session(
        self,
        *,
        session_id: Snowflake,
        user_id: Snowflake,
        refresh_digest: str,
        refresh_expires_at: datetime,
        client: ClientInfo,
        now: datetime,
    ) -> None: ...

    async def get_session(self, session_id: Snowflake) -> Session | None: ...

    async def rotate_refresh_token(
        self,
        *,
        old_digest: str,
        new_digest: str,
        new_expires_at: datetime,
        now: datetime,
        events: EventsOf[RefreshOutcome],
    ) -> RefreshOutcome:
        """Exchange a live refresh token for a new one, atomically. Presenting a token that was
        already rotated revokes its whole session (status "reused"); two concurrent uses of one
        token therefore yield one "rotated" and one "reused"."""

    async def revoke_session(
        self, session_id: Snowflake, *, now: datetime, events: EventsOf[Snowflake]
    ) -> bool:
        """True when the session was live and is now revoked."""

    async def revoke_all_sessions(
        self, user_id: Snowflake, *, now: datetime, events: EventsOf[int]
    ) -> int:
        """Revoke every live session of the user; the number revoked."""
