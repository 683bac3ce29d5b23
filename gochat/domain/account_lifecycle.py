"""An account's life after sign-up: changing its email, deleting it, and an operator's disable.

Changing the email needs the password and proof of the new address: a single-use token, mailed
to the new address, applies the change (a notice goes to the old one). The address must still
be free when the token is used, since another account may have taken it meanwhile.

Deleting an account needs the password and is refused while the user owns guilds (they must be
transferred or deleted first). What others wrote with the user stays: messages are kept and
shown under a "deleted user" placeholder, DM channels stay for the other side. The user's
sessions end at once (their sockets close), memberships, friendships and friend requests go,
with their events, and the email is freed; nobody can sign in to the account again.

An operator may disable an account (`gochat tools users disable`): its sessions end and the flag
is checked on every sign-in, refresh and request, so a token issued before still fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from gochat.bus import Envelope, subjects
from gochat.bus.codec import seal
from gochat.domain import validation
from gochat.domain.accounts import DELETED_HANDLE_PREFIX, AccountPolicy, session_revoked
from gochat.domain.events import FriendRemoved, FriendRequestRemoved, MemberRemoved, UserUpdated
from gochat.domain.publisher import EventPublisher
from gochat.domain.records import (
    CHANGE_EMAIL,
    Account,
    AccountRemoval,
    EmailChange,
    MailMessage,
    User,
    Viewer,
)
from gochat.errors import BadUserInput, Conflict, NotFound, Unauthenticated, Unavailable
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.mail import EmailSender
from gochat.ratelimit import RateLimiter
from gochat.security.passwords import Passwords
from gochat.security.tokens import new_opaque_token, token_digest
from gochat.storage import RelationalStore

log = structlog.get_logger("gochat.accounts")

DELETED_DISPLAY_NAME = "Deleted User"


def deleted_placeholder(user: User) -> User:
    """What remains of a deleted user: the id and creation time, nothing personal."""
    return User(
        id=user.id,
        handle=f"{DELETED_HANDLE_PREFIX}{user.id}",
        display_name=DELETED_DISPLAY_NAME,
        created_at=user.created_at,
        avatar_id=None,
        deleted=True,
    )


class AccountLifecycleService:
    def __init__(
        self,
        *,
        store: RelationalStore,
        ids: SnowflakeGenerator,
        passwords: Passwords,
        mail: EmailSender,
        limits: RateLimiter,
        publisher: EventPublisher | None,
        policy: AccountPolicy,
    ) -> None:
        # Without a publisher (a CLI process away from the servers' bus), events stay in the
        # outbox and the servers' relay publishes them after its grace period.
        self._store = store
        self._ids = ids
        self._passwords = passwords
        self._mail = mail
        self._limits = limits
        self._publisher = publisher
        self._policy = policy

    # --- email change --------------------------------------------------------------------

    async def request_email_change(self, viewer: Viewer, *, new_email: str, password: str) -> None:
        """Mail a confirmation link to `new_email` and a notice to the current address."""
        new_email = validation.email(new_email, field="newEmail")
        await self._limits.hit(
            f"email-change:account:{viewer.user_id}", limit=5, window_seconds=3600
        )
        account = await self._access(viewer)
        await self._check_password(viewer.user_id, password)
        if new_email == account.email:
            raise BadUserInput("this is already the account's email", field="newEmail")
        if await self._store.accounts.get_credentials(new_email) is not None:
            raise Conflict("an account with this email already exists")
        token = new_opaque_token()
        ttl = self._policy.email_confirmation_ttl_seconds
        await self._store.accounts.add_one_time_token(
            user_id=viewer.user_id,
            purpose=CHANGE_EMAIL,
            digest=token_digest(token),
            expires_at=_now() + timedelta(seconds=ttl),
            new_email=new_email,
        )
        url = self._policy.public_url
        await self._deliver(
            MailMessage(
                to=new_email,
                subject="Confirm your new GoChat email",
                text=(
                    "Someone asked to move a GoChat account to this address.\n"
                    f"Confirm it at {url}/confirm-email-change?token={token}\n"
                    f"(token: {token}). The link works once, for {ttl // 3600} hours.\n"
                    "If it was not you, ignore this mail.\n"
                ),
            )
        )
        await self._deliver(
            MailMessage(
                to=account.email,
                subject="Your GoChat email is about to change",
                text=(
                    f"Someone signed in to your GoChat account asked to change its email to "
                    f"{new_email}.\nThe change happens only once that address confirms it.\n"
                    "If it was not you, change your password now.\n"
                ),
            )
        )

    async def confirm_email_change(self, token: str) -> Account:
        """Apply the change a mailed token stands for; the account with its new email."""
        envelopes: list[Envelope] = []

        def events(change: EmailChange) -> list[Envelope]:
            # Own sessions re-read the account; nothing public changed.
            return envelopes

        change = await self._store.accounts.change_email(
            digest=token_digest(token), now=_now(), events=events
        )
        if change is None:
            raise BadUserInput("this email change link is invalid, used or expired", field="token")
        account = await self._store.accounts.get_account(change.user_id)
        if account is None:
            raise NotFound("account not found")
        await self._deliver(
            MailMessage(
                to=change.old_email,
                subject="Your GoChat email was changed",
                text=(
                    f"The email of your GoChat account is now {change.new_email}.\n"
                    "If it was not you, reset your password and contact the operator.\n"
                ),
            )
        )
        return account

    # --- deletion ------------------------------------------------------------------------

    async def delete_account(self, viewer: Viewer, *, password: str) -> None:
        """Delete the caller's account (see the module docstring)."""
        account = await self._access(viewer)
        await self._limits.hit(f"delete:account:{viewer.user_id}", limit=10, window_seconds=3600)
        await self._check_password(viewer.user_id, password)
        placeholder = deleted_placeholder(account.user)
        envelopes: list[Envelope] = []

        def events(removal: AccountRemoval) -> list[Envelope]:
            envelopes.extend(self._removal_events(removal))
            return envelopes

        removal = await self._store.accounts.delete_account(
            viewer.user_id,
            placeholder=placeholder,
            tombstone_email=f"deleted-{viewer.user_id}@deleted.invalid",
            now=_now(),
            events=events,
        )
        if removal is None:
            raise Unauthenticated("this account no longer exists")
        await self._publish(envelopes)
        log.info("account.deleted", user_id=viewer.user_id)

    def _removal_events(self, removal: AccountRemoval) -> list[Envelope]:
        user_id = removal.user.id
        out = seal(
            UserUpdated(event_id=self._ids.next_id(), user=removal.user), subjects.user(user_id)
        )
        for guild_id in removal.guild_ids:
            out += seal(
                MemberRemoved(
                    event_id=self._ids.next_id(), guild_id=guild_id, user_id=user_id, reason="left"
                ),
                subjects.guild(guild_id),
                subjects.user(user_id),
            )
        for friend_id in removal.friend_ids:
            out += seal(
                FriendRemoved(event_id=self._ids.next_id(), user_id=friend_id, friend_id=user_id),
                subjects.user(friend_id),
            )
        for from_id, to_id in removal.friend_requests:
            other = to_id if from_id == user_id else from_id
            out += seal(
                FriendRequestRemoved(event_id=self._ids.next_id(), from_id=from_id, to_id=to_id),
                subjects.user(other),
            )
        return out + session_revoked(self._ids, user_id, None)

    # --- operator --------------------------------------------------------------------------

    async def set_disabled_unchecked(self, user_id: Snowflake, *, disabled: bool) -> None:
        """Disable (ending every session at once) or enable an account; NotFound for an
        unknown or deleted user."""
        envelopes: list[Any] = []

        def events(_: int) -> list[Envelope]:
            envelopes.extend(session_revoked(self._ids, user_id, None))
            return envelopes

        if not await self._store.accounts.set_disabled(
            user_id, disabled=disabled, now=_now(), events=events
        ):
            raise NotFound("no such user")
        await self._publish(envelopes)

    # --- internals -------------------------------------------------------------------------

    async def _access(self, viewer: Viewer) -> Account:
        account = await self._store.accounts.get_account(viewer.user_id)
        if account is None or account.user.deleted:
            raise Unauthenticated("this account no longer exists")
        return account

    async def _check_password(self, user_id: Snowflake, password: str) -> None:
        stored = await self._store.accounts.get_password_hash(user_id)
        if not await self._passwords.verify(stored, password[: validation.PASSWORD_MAX]):
            raise BadUserInput("the password is wrong", field="password")

    async def _publish(self, envelopes: list[Envelope]) -> None:
        if self._publisher is not None:
            await self._publisher.publish(envelopes)

    async def _deliver(self, message: MailMessage) -> None:
        try:
            await self._mail.send(message)
        except Unavailable:
            log.warning("mail.undelivered", to=message.to, subject=message.subject)


def _now() -> datetime:
    return datetime.now(UTC)
