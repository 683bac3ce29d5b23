"""The accounts port: users, credentials, one-time tokens and settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from gochat.domain.records import (
    Account,
    AccountRemoval,
    Credentials,
    EmailChange,
    User,
    UserSettings,
)
from gochat.ids import Snowflake
from gochat.storage.events import EventsOf


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

    async def get_user_by_handle(self, handle: str) -> User | None:
        """By normalized (lower-case) handle."""

    async def get_credentials(self, email: str) -> Credentials | None:
        """Login data by normalized email."""

    async def update_profile(
        self,
        user_id: Snowflake,
        *,
        display_name: str | None,
        avatar_id: Snowflake | None = None,
        events: EventsOf[User],
    ) -> User | None:
        """Set the profile fields given (not None); None when the user does not exist."""

    async def add_one_time_token(
        self,
        *,
        user_id: Snowflake,
        purpose: str,
        digest: str,
        expires_at: datetime,
        new_email: str | None = None,
    ) -> None:
        """Store a confirmation, reset or email-change token by digest (an email change with
        the address it moves to); older unused tokens of the same purpose for the user stop
        working."""

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

    async def change_email(
        self, *, digest: str, now: datetime, events: EventsOf[EmailChange]
    ) -> EmailChange | None:
        """Consume a live email-change token and move the account to its address (verified);
        None when the token is unknown, used or expired. Raises Conflict when another account
        took the address meanwhile (the token stays usable)."""

    async def set_disabled(
        self, user_id: Snowflake, *, disabled: bool, now: datetime, events: EventsOf[int]
    ) -> bool:
        """Set the operator's disabled flag; disabling also revokes every live session (the
        callback gets their number). False when the user does not exist or was deleted."""

    async def delete_account(
        self,
        user_id: Snowflake,
        *,
        placeholder: User,
        tombstone_email: str,
        now: datetime,
        events: EventsOf[AccountRemoval],
    ) -> AccountRemoval | None:
        """Replace the user by `placeholder` (sign-in impossible, email freed), revoke every
        session and remove memberships, member overwrites, friendships and friend requests,
        at once. Messages and DM channels stay. Raises Conflict when the user owns a guild;
        None when there is no such (live) user."""
