"""Storage ports: what the domain may ask of persistent state, with written contracts.

The SQL adapter (`storage.sql`) serves SQLite and PostgreSQL with one code path; the message
store gains a CQL adapter later. Every state-changing method is atomic, and takes an `events`
callback whose envelopes are written to the outbox in the same transaction, so an event is never
lost between the write and its publication.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gochat.bus import Envelope
from gochat.domain.records import (
    Account,
    ClientInfo,
    Credentials,
    RefreshOutcome,
    Session,
    User,
    UserSettings,
)
from gochat.ids import Snowflake

T_contra = TypeVar("T_contra", contravariant=True)
EventsOf = Callable[[T_contra], Sequence[Envelope]]


def no_events(_: object) -> Sequence[Envelope]:
    return ()


class AccountStore(Protocol):
    async def create_account(
        self,
        *,
        user: User,
        email: str,
        password_hash: str,
        confirmation_digest: str,
        confirmation_expires_at: datetime,
    ) -> None:
        """Create the user, its credentials, empty settings and a confirmation token at once.
        Raises Conflict(field="email" or "handle") when either is taken."""

    async def get_user(self, user_id: Snowflake) -> User | None: ...

    async def get_users(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, User]:
        """The users that exist among `user_ids`, in one query."""

    async def get_account(self, user_id: Snowflake) -> Account | None: ...

    async def get_credentials(self, email: str) -> Credentials | None:
        """Login data by normalized email."""

    async def update_profile(
        self, user_id: Snowflake, *, display_name: str, events: EventsOf[User]
    ) -> User | None:
        """Set the profile fields; None when the user does not exist."""

    async def add_one_time_token(
        self, *, user_id: Snowflake, purpose: str, digest: str, expires_at: datetime
    ) -> None:
        """Store a confirmation or reset token by digest; older unused tokens of the same
        purpose for the user stop working."""

    async def confirm_email(self, *, digest: str, now: datetime) -> Snowflake | None:
        """Consume a live confirmation token and mark the email verified; the user id, or None
        when the token is unknown, used or expired."""

    async def reset_password(
        self, *, digest: str, password_hash: str, now: datetime, events: EventsOf[Snowflake]
    ) -> Snowflake | None:
        """Consume a live reset token, set the password and revoke every session, at once."""

    async def get_password_hash(self, user_id: Snowflake) -> str | None: ...

    async def change_password(
        self,
        user_id: Snowflake,
        *,
        password_hash: str,
        keep_session: Snowflake,
        now: datetime,
        events: EventsOf[Snowflake],
    ) -> None:
        """Set the password and revoke every session but `keep_session`."""

    async def get_settings(self, user_id: Snowflake) -> UserSettings: ...

    async def replace_settings(
        self,
        user_id: Snowflake,
        *,
        data: dict[str, Any],
        expected_version: int | None,
        events: EventsOf[UserSettings],
    ) -> UserSettings:
        """Replace the document and raise its version by one. Raises Conflict when
        `expected_version` is given and is not the stored version."""


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


class OutboxStore(Protocol):
    async def mark_published(self, envelopes: Sequence[Envelope]) -> None:
        """Forget outbox rows whose envelopes reached the bus."""

    async def pending(self, *, older_than: datetime, limit: int) -> list[Envelope]:
        """Outbox rows not yet confirmed, oldest first, for the relay to republish."""


class RelationalStore(Protocol):
    @property
    def accounts(self) -> AccountStore: ...

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    async def ping(self) -> None:
        """Raise Unavailable unless the database answers."""

    async def close(self) -> None: ...
