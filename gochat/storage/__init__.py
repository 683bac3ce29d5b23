"""Storage ports: what the domain may ask of persistent state, with written contracts.

The SQL adapter (`storage.sql`) serves SQLite and PostgreSQL with one code path; the message
store gains a CQL adapter later. Every state-changing method is atomic, and takes an `events`
callback whose envelopes are written to the outbox in the same transaction, so an event is never
lost between the write and its publication.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gochat.bus import Envelope
from gochat.domain.permissions import Overwrite
from gochat.domain.records import (
    Account,
    AuditEntry,
    Ban,
    Channel,
    ClientInfo,
    Credentials,
    DirectChannel,
    Emoji,
    FriendRequest,
    Guild,
    Invite,
    Member,
    MentionRef,
    Mentions,
    Message,
    ReactionCount,
    ReadState,
    RefreshOutcome,
    Role,
    Session,
    Upload,
    User,
    UserSettings,
)
from gochat.ids import Snowflake

T_contra = TypeVar("T_contra", contravariant=True)
EventsOf = Callable[[T_contra], Sequence[Envelope]]
AuditOf = Callable[[T_contra], Sequence[AuditEntry]]


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


@dataclass(frozen=True, slots=True)
class GuildAccessData:
    """What permission checks in one guild need, read together."""

    guild: Guild
    member: Member | None
    roles: Mapping[Snowflake, Role]
    overwrites: Sequence[Overwrite]
    channels: Mapping[Snowflake, Channel]


@dataclass(frozen=True, slots=True)
class InviteAcceptance:
    """status: joined | already_member | unknown | revoked | expired | used_up | banned."""

    status: str
    invite: Invite | None
    member: Member | None


class GuildStore(Protocol):
    """Guild-scoped state. Every change is one transaction holding the guild's lock; outbox
    events and audit entries are written with it. Missing targets raise NotFound."""

    async def get_guild(self, guild_id: Snowflake) -> Guild | None: ...
    async def list_guilds_of_user(self, user_id: Snowflake) -> list[Guild]: ...
    async def load_access(self, guild_id: Snowflake, user_id: Snowflake) -> GuildAccessData | None:
        """The guild, the user's membership (None if not a member), roles, channels and
        overwrites; None when the guild does not exist."""

    async def channel_guild(self, channel_id: Snowflake) -> Snowflake | None:
        """The guild of a guild channel; None for unknown channels."""

    async def get_member(self, guild_id: Snowflake, user_id: Snowflake) -> Member | None: ...
    async def get_members(
        self, guild_id: Snowflake, user_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Member]: ...
    async def list_members(
        self,
        guild_id: Snowflake,
        *,
        after_user_id: Snowflake | None,
        prefix: str | None,
        limit: int,
    ) -> list[Member]:
        """Members ordered by user id; `prefix` matches handle, display name or nickname."""

    async def count_members(self, guild_id: Snowflake) -> int: ...
    async def list_bans(self, guild_id: Snowflake) -> list[Ban]: ...
    async def get_invite(self, code: str) -> Invite | None: ...
    async def list_invites(
        self, guild_id: Snowflake, *, channel_id: Snowflake | None, now: datetime
    ) -> list[Invite]:
        """Usable invites only: not revoked, expired or used up."""

    async def list_emoji(self, guild_id: Snowflake) -> list[Emoji]: ...
    async def get_emoji_by_ids(self, emoji_ids: Sequence[Snowflake]) -> dict[Snowflake, Emoji]:
        """The custom emoji that exist among `emoji_ids`, in any guild, in one query."""

    async def list_audit(
        self,
        guild_id: Snowflake,
        *,
        action: str | None,
        actor_id: Snowflake | None,
        before_id: Snowflake | None,
        limit: int,
    ) -> list[AuditEntry]:
        """Newest first."""

    async def create_guild(
        self,
        *,
        guild: Guild,
        everyone: Role,
        channels_: Sequence[Channel],
        owner: Member,
        events: EventsOf[Guild],
    ) -> Guild: ...
    async def update_guild(
        self,
        guild_id: Snowflake,
        values: dict[str, Any],
        *,
        events: EventsOf[Guild],
        audit: AuditOf[Guild],
    ) -> Guild: ...
    async def transfer_ownership(
        self,
        guild_id: Snowflake,
        *,
        from_user: Snowflake,
        to_user: Snowflake,
        events: EventsOf[Guild],
        audit: AuditOf[Guild],
    ) -> Guild:
        """Conditional on `from_user` still owning the guild (Conflict otherwise)."""

    async def delete_guild(self, guild_id: Snowflake, *, events: EventsOf[Snowflake]) -> None: ...
    async def create_channel(
        self,
        channel: Channel,
        *,
        overwrites: Sequence[Overwrite],
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel: ...
    async def update_channel(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        values: dict[str, Any],
        *,
        replace_overwrites: Sequence[Overwrite] | None,
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel: ...
    async def delete_channel(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        *,
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel:
        """Also drops its overwrites and invites, orphans its children, unsets the system
        channel if it was that."""

    async def set_channel_positions(
        self,
        guild_id: Snowflake,
        placements: Sequence[tuple[Snowflake, Snowflake | None, int]],
        *,
        events: EventsOf[list[Channel]],
        audit: AuditOf[list[Channel]],
    ) -> list[Channel]:
        """All placements (channel, parent, position) or none."""

    async def create_role(
        self, role: Role, *, events: EventsOf[Role], audit: AuditOf[Role]
    ) -> Role:
        """Placed at position 1, just above @everyone; the roles above move up by one."""

    async def update_role(
        self,
        guild_id: Snowflake,
        role_id: Snowflake,
        values: dict[str, Any],
        *,
        events: EventsOf[Role],
        audit: AuditOf[Role],
    ) -> Role: ...
    async def delete_role(
        self,
        guild_id: Snowflake,
        role_id: Snowflake,
        *,
        events: EventsOf[Role],
        audit: AuditOf[Role],
    ) -> Role: ...
    async def set_role_positions(
        self,
        guild_id: Snowflake,
        positions: Sequence[tuple[Snowflake, int]],
        *,
        events: EventsOf[list[Role]],
        audit: AuditOf[list[Role]],
    ) -> list[Role]: ...
    async def set_member_role(
        self,
        guild_id: Snowflake,
        user_id: Snowflake,
        role_id: Snowflake,
        *,
        present: bool,
        events: EventsOf[Member],
        audit: AuditOf[Member],
    ) -> Member: ...
    async def put_overwrite(
        self,
        guild_id: Snowflake,
        overwrite: Overwrite,
        *,
        events: EventsOf[Overwrite],
        audit: AuditOf[Overwrite],
    ) -> Overwrite: ...
    async def delete_overwrite(
        self,
        guild_id: Snowflake,
        channel_id: Snowflake,
        target_type: str,
        target_id: Snowflake,
        *,
        events: EventsOf[Overwrite],
        audit: AuditOf[Overwrite],
    ) -> Overwrite: ...
    async def update_member(
        self,
        guild_id: Snowflake,
        user_id: Snowflake,
        values: dict[str, Any],
        *,
        events: EventsOf[Member],
        audit: AuditOf[Member],
    ) -> Member: ...
    async def remove_member(
        self,
        guild_id: Snowflake,
        user_id: Snowflake,
        *,
        ban: Ban | None,
        events: EventsOf[Member | None],
        audit: AuditOf[Member | None],
    ) -> Member | None: ...
    async def delete_ban(
        self, guild_id: Snowflake, user_id: Snowflake, *, events: EventsOf[Ban], audit: AuditOf[Ban]
    ) -> Ban: ...
    async def create_invite(
        self, invite: Invite, *, events: EventsOf[Invite], audit: AuditOf[Invite]
    ) -> Invite: ...
    async def revoke_invite(
        self,
        guild_id: Snowflake,
        code: str,
        *,
        now: datetime,
        events: EventsOf[Invite],
        audit: AuditOf[Invite],
    ) -> Invite: ...
    async def accept_invite(
        self, code: str, user_id: Snowflake, *, now: datetime, events: EventsOf[InviteAcceptance]
    ) -> InviteAcceptance: ...
    async def create_emoji(
        self, item: Emoji, *, max_per_guild: int, events: EventsOf[Emoji], audit: AuditOf[Emoji]
    ) -> Emoji:
        """Conflict when the name is taken in the guild or the guild is at its cap."""

    async def rename_emoji(
        self,
        guild_id: Snowflake,
        emoji_id: Snowflake,
        name: str,
        *,
        events: EventsOf[Emoji],
        audit: AuditOf[Emoji],
    ) -> Emoji: ...
    async def delete_emoji(
        self,
        guild_id: Snowflake,
        emoji_id: Snowflake,
        *,
        events: EventsOf[Emoji],
        audit: AuditOf[Emoji],
    ) -> Emoji: ...


class MessageStore(Protocol):
    """Message timelines: per channel, ordered by snowflake id. Adapters: SQL and CQL."""

    async def ping(self) -> None:
        """Raise Unavailable unless the store answers."""

    async def insert_once(
        self,
        message: Message,
        *,
        nonce: str | None,
        window_start: datetime,
        events: EventsOf[Message],
    ) -> tuple[Message, bool]:
        """Store a message, durable on return. With a nonce already used by the same author in
        the channel since `window_start`, store nothing and return the first message with
        False; concurrent sends with one nonce store exactly one message. Raises Conflict
        when the first message was deleted meanwhile. `events` is called at most once, always
        for a message it stores; a store may also call it for a send that then proves a retry,
        whose events it does not store (publish only when the second value is True)."""

    async def get(self, message_id: Snowflake) -> Message | None: ...

    async def last_message_ids(
        self, channel_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Snowflake]:
        """The newest message id of each channel that has messages."""

    async def page(
        self,
        channel_id: Snowflake,
        *,
        before: Snowflake | None,
        after: Snowflake | None,
        limit: int,
        newest_first: bool,
    ) -> list[Message]:
        """Up to `limit` messages strictly between the bounds, nearest the anchor first:
        newest first when reading back (`newest_first`), oldest first when reading forward."""

    async def edit(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        content: str,
        mentions: Mentions,
        edited_at: datetime,
        events: EventsOf[Message],
    ) -> Message | None: ...

    async def delete(
        self,
        channel_id: Snowflake,
        message_ids: Sequence[Snowflake],
        *,
        events: EventsOf[list[Message]],
    ) -> list[Message]:
        """Delete the messages that exist among `message_ids` (with their reactions and
        mentions); the deleted ones."""

    async def set_pinned(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        pinned: bool,
        events: EventsOf[Message],
    ) -> Message | None:
        """Pin or unpin; None when the message does not exist. Events only on a change."""

    async def pins(self, channel_id: Snowflake) -> list[Message]:
        """Pinned messages, newest first."""

    async def add_reaction(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        user_id: Snowflake,
        *,
        now: datetime,
        events: EventsOf[bool],
    ) -> bool:
        """True when added, False when the user had already reacted with it."""

    async def remove_reaction(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        user_id: Snowflake,
        *,
        events: EventsOf[bool],
    ) -> bool: ...

    async def reaction_counts(
        self, channel_id: Snowflake, message_ids: Sequence[Snowflake], viewer_id: Snowflake
    ) -> dict[Snowflake, list[ReactionCount]]:
        """Per message, each emoji's count and whether the viewer is among them, in order of
        first reaction."""

    async def reactors(
        self,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: str,
        *,
        after_user_id: Snowflake | None,
        limit: int,
    ) -> list[Snowflake]:
        """User ids who reacted with `emoji`, by user id."""

    async def ack(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        message_id: Snowflake,
        *,
        events: EventsOf[ReadState],
    ) -> ReadState:
        """Move the read marker forward to `message_id`; never backward. Returns the marker.
        Events only when it moved."""

    async def read_states(
        self, user_id: Snowflake, channel_ids: Sequence[Snowflake] | None = None
    ) -> list[ReadState]: ...

    async def count_after(
        self, channel_id: Snowflake, after_id: Snowflake | None, *, cap: int
    ) -> int:
        """Messages newer than `after_id` (all when None), counting at most `cap`."""

    async def count_mentions_after(
        self,
        user_id: Snowflake,
        channel_id: Snowflake,
        after_id: Snowflake | None,
        *,
        role_ids: Sequence[Snowflake],
        cap: int,
    ) -> int:
        """Messages newer than `after_id` mentioning the user directly or through one of
        `role_ids` (include the guild id for @everyone), not authored by the user."""

    async def mentions_of(
        self, user_id: Snowflake, *, before_message_id: Snowflake | None, limit: int
    ) -> list[MentionRef]:
        """Direct mentions of the user, newest first."""


class DirectStore(Protocol):
    """DM channels and relationships between users. Changes are atomic; a 1:1 DM is unique
    per pair of users (concurrent opens return one channel)."""

    async def get_channel(self, channel_id: Snowflake) -> DirectChannel | None: ...
    async def list_channels_of(self, user_id: Snowflake) -> list[DirectChannel]:
        """The user's DM and group channels, most recent message first."""

    async def open_pair(
        self, channel: DirectChannel, *, events: EventsOf[DirectChannel]
    ) -> tuple[DirectChannel, bool]:
        """The 1:1 channel of the pair in `channel.recipient_ids`, created from `channel`
        when missing; True when created."""

    async def create_group(
        self, channel: DirectChannel, *, events: EventsOf[DirectChannel]
    ) -> DirectChannel: ...
    async def set_recipients(
        self,
        channel_id: Snowflake,
        *,
        add: Sequence[Snowflake],
        remove: Sequence[Snowflake],
        max_recipients: int,
        new_owner: Snowflake | None,
        events: EventsOf[DirectChannel | None],
    ) -> DirectChannel | None:
        """Change a group's members at once (Conflict over the cap or for someone already in);
        None when nobody is left and the group ended."""

    async def touch(self, channel_id: Snowflake, message_id: Snowflake) -> None:
        """Record a newer last message (never moves back)."""

    async def relationship(self, user_id: Snowflake, other_id: Snowflake) -> set[str]: ...
    async def add_request(self, request: FriendRequest, *, events: EventsOf[FriendRequest]) -> None:
        """Conflict when one is already pending."""

    async def remove_request(
        self, from_id: Snowflake, to_id: Snowflake, *, events: EventsOf[bool]
    ) -> bool: ...
    async def befriend(
        self, requester: Snowflake, accepter: Snowflake, *, now: datetime, events: EventsOf[bool]
    ) -> bool: ...
    async def unfriend(
        self, user_id: Snowflake, friend_id: Snowflake, *, events: EventsOf[bool]
    ) -> bool: ...
    async def block(
        self, user_id: Snowflake, blocked_id: Snowflake, *, now: datetime, events: EventsOf[bool]
    ) -> bool: ...
    async def unblock(self, user_id: Snowflake, blocked_id: Snowflake) -> bool: ...
    async def friends_of(self, user_id: Snowflake) -> list[Snowflake]: ...
    async def requests_of(self, user_id: Snowflake) -> list[FriendRequest]: ...
    async def blocked_by(self, user_id: Snowflake) -> list[Snowflake]: ...
    async def who_blocked(
        self, user_id: Snowflake, among: Sequence[Snowflake]
    ) -> set[Snowflake]: ...


class FileStore(Protocol):
    """Upload slots and what they became. Slots live in the relational store even when
    messages live elsewhere: a message's attachments are found by its id."""

    async def create_upload(self, upload: Upload, *, max_open: int, now: datetime) -> bool:
        """Store a new slot unless its owner already holds `max_open` slots that are neither
        used nor expired at `now` (then False, nothing stored)."""

    async def get_upload(self, upload_id: Snowflake) -> Upload | None: ...

    async def claim(
        self,
        upload: Upload,
        *,
        claim: str,
        message_id: Snowflake | None,
        content_type: str,
        width: int | None,
        height: int | None,
        animated: bool,
        now: datetime,
    ) -> Upload | None:
        """Mark the upload used by `claim` with the facts found in its bytes, in one conditional
        write: succeeds when it is unused or already used by the same claim (a retry), and
        returns None when another claim holds it."""

    async def release(self, upload_id: Snowflake, claim: str) -> None:
        """Undo a claim that its use gave up (only while `claim` holds the upload)."""

    async def bind_message(self, claim: str, message_id: Snowflake) -> None:
        """Point every upload used by `claim` at the message that was finally stored."""

    async def delete_upload(self, upload_id: Snowflake) -> None: ...

    async def attachments_of(
        self, message_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, list[Upload]]:
        """The used attachment uploads of each message, oldest first, in one query."""

    async def get_uploads(self, upload_ids: Sequence[Snowflake]) -> dict[Snowflake, Upload]: ...

    async def set_preview(
        self, upload_id: Snowflake, *, preview_key: str | None, failed: bool
    ) -> Upload | None:
        """Record a made preview (or that none can be made); None when the upload is gone."""

    async def lacking_previews(self, *, limit: int) -> list[Upload]:
        """Used image uploads whose preview was neither made nor given up on."""

    async def scan(self, *, after_id: Snowflake, limit: int) -> list[Upload]:
        """Uploads in id order after `after_id` (for collection passes)."""

    async def referenced_images(self, upload_ids: Sequence[Snowflake]) -> set[Snowflake]:
        """Those of `upload_ids` that are an avatar, guild icon or banner, or emoji image now."""


class RelationalStore(Protocol):
    @property
    def accounts(self) -> AccountStore: ...

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def guilds(self) -> GuildStore: ...

    @property
    def messages(self) -> MessageStore: ...

    @property
    def direct(self) -> DirectStore: ...

    @property
    def files(self) -> FileStore: ...

    async def ping(self) -> None:
        """Raise Unavailable unless the database answers."""

    async def close(self) -> None: ...
