"""Accounts and sessions: registration with email confirmation, login, refresh-token rotation
with reuse detection, logout, password reset and change, profiles and settings documents.

Login and password reset never reveal whether an email has an account: the same answer, after
the same work, either way. Registration does answer CONFLICT for a taken email or handle, since
a new user must learn why sign-up failed.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from gochat.bus import Envelope, subjects
from gochat.bus.codec import event_type, seal
from gochat.domain import validation
from gochat.domain.attachments import AttachmentService
from gochat.domain.events import SessionRevoked, UserSettingsUpdated, UserUpdated
from gochat.domain.publisher import EventPublisher
from gochat.domain.records import (
    CONFIRM_EMAIL,
    RESET_PASSWORD,
    Account,
    ClientInfo,
    MailMessage,
    RefreshOutcome,
    TokenPair,
    UploadPurpose,
    User,
    UserSettings,
    Viewer,
)
from gochat.errors import BadUserInput, NotFound, RateLimited, Unauthenticated, Unavailable
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.mail import EmailSender
from gochat.ratelimit import RateLimiter
from gochat.security.passwords import Passwords
from gochat.security.tokens import AccessTokens, new_opaque_token, token_digest
from gochat.storage import RelationalStore

log = structlog.get_logger("gochat.accounts")

DELETED_HANDLE_PREFIX = "deleted-"


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    """The limits and lifetimes account rules need, taken from Settings by wiring."""

    refresh_token_ttl_seconds: int
    email_confirmation_ttl_seconds: int
    password_reset_ttl_seconds: int
    settings_max_bytes: int
    public_url: str
    rate_register_per_ip: tuple[int, int]
    rate_login_per_ip: tuple[int, int]
    rate_login_per_account: tuple[int, int]
    rate_reset_per_ip: tuple[int, int]
    rate_reset_per_account: tuple[int, int]


class SessionCache:
    """Live sessions this process has seen recently, so a request with a valid access token
    skips the session read.

    An entry lasts `ttl_seconds` at most, and drops at once when this process commits a
    SessionRevoked on the user's subject (logout, logout everywhere, password change or reset,
    refresh-token reuse, disabling and deleting the account all publish one), or hears of a
    SessionRevoked from another process on the bus. A session revoked through another process
    can therefore still authenticate here until its event arrives, and for up to `ttl_seconds`
    when it never does (the bus was down meanwhile): the same bound the guild permission cache
    has, and far inside the access token's own lifetime, which is what a stolen token is good
    for anyway. Only live sessions are stored; a load that raced with an invalidation is not
    (generation check). `ttl_seconds=0` turns the cache off.
    """

    def __init__(self, *, ttl_seconds: float = 2.0, max_sessions: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_sessions
        self._entries: OrderedDict[Snowflake, tuple[float, Snowflake]] = OrderedDict()
        self._generations: dict[Snowflake, int] = {}
        self._epoch = 0

    def live(self, session_id: Snowflake, user_id: Snowflake) -> bool:
        entry = self._entries.get(session_id)
        return entry is not None and entry[1] == user_id and entry[0] >= time.monotonic()

    def generation(self, user_id: Snowflake) -> int:
        # Both terms only grow: a load that raced with an invalidation or a clear sees a change.
        return self._epoch + self._generations.get(user_id, 0)

    def put(self, session_id: Snowflake, user_id: Snowflake, generation: int) -> None:
        if self._ttl <= 0 or self.generation(user_id) != generation:
            return
        self._entries[session_id] = (time.monotonic() + self._ttl, user_id)
        self._entries.move_to_end(session_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def invalidate_user(self, user_id: Snowflake) -> None:
        self._generations[user_id] = self._generations.get(user_id, 0) + 1
        if len(self._generations) > self._max:
            # Forgetting generations only matters for loads in flight right now; start over.
            self._generations = {user_id: 1}
        for session_id in [s for s, (_, u) in self._entries.items() if u == user_id]:
            del self._entries[session_id]

    def clear(self) -> None:
        self._entries.clear()
        self._epoch += 1  # loads in flight must not store what they read before the clear


class AccountService:
    def __init__(
        self,
        *,
        store: RelationalStore,
        ids: SnowflakeGenerator,
        passwords: Passwords,
        tokens: AccessTokens,
        mail: EmailSender,
        limits: RateLimiter,
        publisher: EventPublisher,
        policy: AccountPolicy,
        sessions: SessionCache | None = None,
        files: AttachmentService | None = None,
    ) -> None:
        self._files = files
        self._sessions = sessions or SessionCache()
        self._store = store
        self._ids = ids
        self._passwords = passwords
        self._tokens = tokens
        self._mail = mail
        self._limits = limits
        self._publisher = publisher
        self._policy = policy

    # --- registration and confirmation -------------------------------------------------

    async def register(
        self, *, email: str, handle: str, display_name: str, password: str, client: ClientInfo
    ) -> Account:
        email = validation.email(email)
        handle = validation.handle(handle)
        if handle.startswith(DELETED_HANDLE_PREFIX):
            # Deleted accounts' placeholders are named so; a taken one would block a deletion.
            raise BadUserInput(
                f"handles starting with {DELETED_HANDLE_PREFIX!r} are reserved", field="handle"
            )
        display_name = validation.display_name(display_name)
        password = validation.password(password)
        await self._limit("register:ip", client.ip, self._policy.rate_register_per_ip)

        user = User(
            id=self._ids.next_id(),
            handle=handle,
            display_name=display_name,
            created_at=_now().replace(microsecond=0),
        )
        token = new_opaque_token()
        await self._store.accounts.create_account(
            user=user,
            email=email,
            password_hash=await self._passwords.hash(password),
            confirmation_digest=token_digest(token),
            confirmation_expires_at=_now()
            + timedelta(seconds=self._policy.email_confirmation_ttl_seconds),
        )
        await self._send_confirmation(email, token)
        return Account(user=user, email=email, email_verified=False)

    async def resend_confirmation(self, viewer: Viewer) -> None:
        account = await self.access_account(viewer)
        if account.email_verified:
            return
        await self._limit("confirm:account", str(viewer.user_id), (3, 3600))
        token = new_opaque_token()
        await self._store.accounts.add_one_time_token(
            user_id=viewer.user_id,
            purpose=CONFIRM_EMAIL,
            digest=token_digest(token),
            expires_at=_now() + timedelta(seconds=self._policy.email_confirmation_ttl_seconds),
        )
        await self._send_confirmation(account.email, token)

    async def confirm_email(self, token: str) -> Account:
        user_id = await self._store.accounts.confirm_email(digest=token_digest(token), now=_now())
        if user_id is None:
            raise BadUserInput("this confirmation link is invalid or expired", field="token")
        account = await self._store.accounts.get_account(user_id)
        if account is None:
            raise NotFound("account not found")
        return account

    # --- sessions ------------------------------------------------------------------------

    async def login(self, *, email: str, password: str, client: ClientInfo) -> TokenPair:
        failure = Unauthenticated("wrong email or password")
        try:
            email = validation.email(email)
        except BadUserInput:
            # Same answer as an unknown account, but still counted against the client.
            await self._limit("login:ip", client.ip, self._policy.rate_login_per_ip)
            raise failure from None
        await self._limit_all(
            ("login:ip", client.ip, self._policy.rate_login_per_ip),
            ("login:account", email, self._policy.rate_login_per_account),
        )
        credentials = await self._store.accounts.get_credentials(email)
        ok = await self._passwords.verify(
            credentials.password_hash if credentials else None, password[: validation.PASSWORD_MAX]
        )
        if credentials is None or not ok or credentials.disabled:
            raise failure
        return await self._open_session(credentials.user_id, client)

    async def refresh(self, *, refresh_token: str, client: ClientInfo) -> TokenPair:
        new_token = new_opaque_token()
        envelopes: list[Any] = []

        def events(outcome: RefreshOutcome) -> list[Any]:
            if outcome.status == "reused" and outcome.user_id is not None:
                envelopes.extend(self._session_revoked(outcome.user_id, outcome.session_id))
            return envelopes

        outcome = await self._store.sessions.rotate_refresh_token(
            old_digest=token_digest(refresh_token),
            new_digest=token_digest(new_token),
            new_expires_at=_now() + timedelta(seconds=self._policy.refresh_token_ttl_seconds),
            now=_now(),
            events=events,
        )
        if outcome.status == "reused":
            await self._publisher.publish(envelopes)
            log.warning("session.refresh_token_reused", session_id=outcome.session_id, ip=client.ip)
            raise Unauthenticated("refresh token was already used; the session has been ended")
        if outcome.status != "rotated" or outcome.session_id is None or outcome.user_id is None:
            raise Unauthenticated("refresh token is invalid, expired or revoked")
        access, access_expires = self._tokens.issue(outcome.user_id, outcome.session_id)
        return TokenPair(
            access_token=access,
            access_expires_at=access_expires,
            refresh_token=new_token,
            refresh_expires_at=_now() + timedelta(seconds=self._policy.refresh_token_ttl_seconds),
            session_id=outcome.session_id,
        )

    async def authenticate(self, access_token: str) -> Viewer:
        """The viewer behind a bearer token, provided its session is still live (as read at
        most SessionCache's TTL ago)."""
        claims = self._tokens.verify(access_token)
        viewer = Viewer(claims.user_id, claims.session_id, claims.expires_at)
        await self.ensure_live(viewer)
        return viewer

    async def ensure_live(self, viewer: Viewer) -> None:
        """Raise Unauthenticated when the viewer's session has ended (as read at most
        SessionCache's TTL ago): a socket checks this before each operation it runs."""
        if self._sessions.live(viewer.session_id, viewer.user_id):
            return
        generation = self._sessions.generation(viewer.user_id)
        session = await self._store.sessions.get_session(viewer.session_id)
        if session is None or session.revoked_at is not None or session.user_id != viewer.user_id:
            raise Unauthenticated("this session has ended; sign in again")
        if session.user_disabled:
            raise Unauthenticated("this account is disabled")
        self._sessions.put(viewer.session_id, viewer.user_id, generation)

    def on_published(self, envelopes: Sequence[Envelope]) -> None:
        """Forget cached sessions of users whose sessions this process just revoked. Only a
        revocation: a user's other events (a send moves its author's read marker) would
        otherwise make every request after them read the session again."""
        for envelope in envelopes:
            user_id = subjects.user_id_of(envelope.subject)
            if user_id is not None and event_type(envelope.payload) == SessionRevoked.TYPE:
                self._sessions.invalidate_user(Snowflake(user_id))

    def on_revoked(self, event: SessionRevoked) -> None:
        """A session ended, maybe through another process: stop trusting the user's cached
        sessions here at once rather than after SessionCache's TTL."""
        self._sessions.invalidate_user(event.user_id)

    def forget_sessions(self) -> None:
        """Read every session again on next use (revocations may have been missed, e.g.
        while this process was cut off from the bus)."""
        self._sessions.clear()

    async def logout(self, viewer: Viewer) -> None:
        envelopes = self._session_revoked(viewer.user_id, viewer.session_id)
        if await self._store.sessions.revoke_session(
            viewer.session_id, now=_now(), events=lambda _: envelopes
        ):
            await self._publisher.publish(envelopes)

    async def logout_all(self, viewer: Viewer) -> int:
        envelopes = self._session_revoked(viewer.user_id, None)
        count = await self._store.sessions.revoke_all_sessions(
            viewer.user_id, now=_now(), events=lambda _: envelopes
        )
        await self._publisher.publish(envelopes)
        return count

    # --- passwords -------------------------------------------------------------------------

    async def request_password_reset(self, *, email: str, client: ClientInfo) -> None:
        """Always succeeds from the caller's view, whether or not the account exists."""
        try:
            email = validation.email(email)
        except BadUserInput:
            await self._limit("reset:ip", client.ip, self._policy.rate_reset_per_ip)
            return
        await self._limit_all(
            ("reset:ip", client.ip, self._policy.rate_reset_per_ip),
            ("reset:account", email, self._policy.rate_reset_per_account),
        )
        credentials = await self._store.accounts.get_credentials(email)
        if credentials is None or credentials.disabled:
            return
        token = new_opaque_token()
        await self._store.accounts.add_one_time_token(
            user_id=credentials.user_id,
            purpose=RESET_PASSWORD,
            digest=token_digest(token),
            expires_at=_now() + timedelta(seconds=self._policy.password_reset_ttl_seconds),
        )
        minutes = self._policy.password_reset_ttl_seconds // 60
        await self._deliver(
            MailMessage(
                to=email,
                subject="Reset your GoChat password",
                text=(
                    "Someone asked to reset the password of your GoChat account.\n"
                    f"Reset it at {self._policy.public_url}/reset-password?token={token}\n"
                    f"(token: {token}). The link works once, for {minutes} minutes.\n"
                    "If it was not you, ignore this mail; your password stays as it is.\n"
                ),
            )
        )

    async def reset_password(self, *, token: str, new_password: str) -> None:
        new_password = validation.password(new_password, field="newPassword")
        password_hash = await self._passwords.hash(new_password)
        envelopes: list[Any] = []

        def events(user_id: Snowflake) -> list[Any]:
            envelopes.extend(self._session_revoked(user_id, None))
            return envelopes

        user_id = await self._store.accounts.reset_password(
            digest=token_digest(token), password_hash=password_hash, now=_now(), events=events
        )
        if user_id is None:
            raise BadUserInput("this reset link is invalid or expired", field="token")
        await self._publisher.publish(envelopes)

    async def change_password(
        self, viewer: Viewer, *, current_password: str, new_password: str
    ) -> None:
        new_password = validation.password(new_password, field="newPassword")
        await self._limit("password:account", str(viewer.user_id), (10, 3600))
        stored = await self._store.accounts.get_password_hash(viewer.user_id)
        if stored is None:
            raise Unauthenticated("this session has ended; sign in again")
        if not await self._passwords.verify(stored, current_password[: validation.PASSWORD_MAX]):
            raise BadUserInput("the current password is wrong", field="currentPassword")
        envelopes = self._session_revoked(viewer.user_id, None, kept=viewer.session_id)
        await self._store.accounts.change_password(
            viewer.user_id,
            password_hash=await self._passwords.hash(new_password),
            keep_session=viewer.session_id,
            now=_now(),
            events=lambda _: envelopes,
        )
        await self._publisher.publish(envelopes)

    # --- profiles and settings -------------------------------------------------------------

    async def get_user(self, user_id: Snowflake) -> User | None:
        return await self._store.accounts.get_user(user_id)

    async def get_users(self, user_ids: list[Snowflake]) -> dict[Snowflake, User]:
        return await self._store.accounts.get_users(user_ids)

    async def access_account(self, viewer: Viewer) -> Account:
        account = await self._store.accounts.get_account(viewer.user_id)
        if account is None:
            raise Unauthenticated("this account no longer exists")
        return account

    async def update_profile(
        self,
        viewer: Viewer,
        *,
        display_name: str | None = None,
        avatar_upload_id: Snowflake | None = None,
    ) -> User:
        if display_name is not None:
            display_name = validation.display_name(display_name)
        elif avatar_upload_id is None:
            current = await self._store.accounts.get_user(viewer.user_id)
            if current is None:
                raise Unauthenticated("this account no longer exists")
            return current
        avatar = None
        if avatar_upload_id is not None:
            if self._files is None:
                raise BadUserInput("avatars are not available here", field="avatarUploadId")
            avatar = await self._files.use_image(
                viewer, avatar_upload_id, purpose=UploadPurpose.AVATAR
            )
        envelopes: list[Any] = []

        def events(user: User) -> list[Any]:
            envelopes.extend(
                seal(UserUpdated(event_id=self._ids.next_id(), user=user), subjects.user(user.id))
            )
            return envelopes

        user = await self._store.accounts.update_profile(
            viewer.user_id,
            display_name=display_name,
            avatar_id=None if avatar is None else avatar.id,
            events=events,
        )
        if user is None:
            raise Unauthenticated("this account no longer exists")
        await self._publisher.publish(envelopes)
        if avatar is not None and self._files is not None:
            self._files.used([avatar])
        return user

    async def get_settings(
        self, viewer: Viewer, *, newer_than: int | None = None
    ) -> UserSettings | None:
        """The settings document, or None when the caller already holds `newer_than` or later."""
        settings = await self._store.accounts.get_settings(viewer.user_id)
        if newer_than is not None and settings.version <= newer_than:
            return None
        return settings

    async def replace_settings(
        self, viewer: Viewer, *, data: object, expected_version: int | None
    ) -> UserSettings:
        if not isinstance(data, dict):
            raise BadUserInput("settings must be a JSON object", field="data")
        size = len(json.dumps(data, separators=(",", ":")).encode())
        if size > self._policy.settings_max_bytes:
            raise BadUserInput(
                f"settings are {size} bytes; the limit is {self._policy.settings_max_bytes}",
                field="data",
            )
        if expected_version is not None and expected_version < 0:
            raise BadUserInput("expectedVersion cannot be negative", field="expectedVersion")
        envelopes: list[Any] = []

        def events(settings: UserSettings) -> list[Any]:
            event = UserSettingsUpdated(event_id=self._ids.next_id(), settings=settings)
            envelopes.extend(seal(event, subjects.user(settings.user_id)))
            return envelopes

        settings = await self._store.accounts.replace_settings(
            viewer.user_id, data=data, expected_version=expected_version, events=events
        )
        await self._publisher.publish(envelopes)
        return settings

    # --- internals -------------------------------------------------------------------------

    async def _open_session(self, user_id: Snowflake, client: ClientInfo) -> TokenPair:
        session_id = self._ids.next_id()
        refresh = new_opaque_token()
        refresh_expires = _now() + timedelta(seconds=self._policy.refresh_token_ttl_seconds)
        await self._store.sessions.create_session(
            session_id=session_id,
            user_id=user_id,
            refresh_digest=token_digest(refresh),
            refresh_expires_at=refresh_expires,
            client=client,
            now=_now(),
        )
        access, access_expires = self._tokens.issue(user_id, session_id)
        return TokenPair(access, access_expires, refresh, refresh_expires, session_id)

    def _session_revoked(
        self, user_id: Snowflake, session_id: Snowflake | None, *, kept: Snowflake | None = None
    ) -> list[Any]:
        return session_revoked(self._ids, user_id, session_id, kept=kept)

    async def _send_confirmation(self, email: str, token: str) -> None:
        hours = self._policy.email_confirmation_ttl_seconds // 3600
        await self._deliver(
            MailMessage(
                to=email,
                subject="Confirm your GoChat email",
                text=(
                    "Welcome to GoChat.\n"
                    f"Confirm your email at {self._policy.public_url}/confirm-email?token={token}\n"
                    f"(token: {token}). The link works for {hours} hours.\n"
                ),
            )
        )

    async def _deliver(self, message: MailMessage) -> None:
        try:
            await self._mail.send(message)
        except Unavailable:
            # The account change stands; the user can ask for the mail again.
            log.warning("mail.undelivered", to=message.to, subject=message.subject)

    async def _limit(self, scope: str, key: str, rate: tuple[int, int]) -> None:
        limit, window = rate
        await self._limits.hit(f"{scope}:{key}", limit=limit, window_seconds=window)

    async def _limit_all(self, *limits: tuple[str, str, tuple[int, int]]) -> None:
        """Count the request against every limit; when any refuses it, report the longest
        wait among those that did: a client told to come back when the address's window
        resets would find the account still locked."""
        refusals: list[RateLimited] = []
        for scope, key, rate in limits:
            try:
                await self._limit(scope, key, rate)
            except RateLimited as exc:
                refusals.append(exc)
        if refusals:
            raise max(refusals, key=lambda r: r.retry_after)


def session_revoked(
    ids: SnowflakeGenerator,
    user_id: Snowflake,
    session_id: Snowflake | None,
    *,
    kept: Snowflake | None = None,
) -> list[Envelope]:
    """The envelopes announcing that a session (None: every session) of the user ended."""
    event = SessionRevoked(
        event_id=ids.next_id(), user_id=user_id, session_id=session_id, kept_session_id=kept
    )
    # The user's own subject tells their event streams; the shared one reaches every
    # process, which closes the session's sockets whether or not anyone streams events.
    return seal(event, subjects.user(user_id), subjects.sessions_revoked())


def _now() -> datetime:
    return datetime.now(UTC)
