"""The guilds port: guilds, channels, roles, overwrites, members, bans, invites, emoji and
the audit log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gochat.domain.permissions import Overwrite
from gochat.domain.records import (
    AuditEntry,
    Ban,
    Channel,
    ChannelRemoval,
    Emoji,
    Guild,
    Invite,
    Member,
    Role,
    ThreadMember,
)
from gochat.ids import Snowflake
from gochat.storage.events import AuditOf, EventsOf


@dataclass(frozen=True, slots=True)
class GuildAccessData:
    """What permission checks in one guild need, read together."""

    guild: Guild
    member: Member | None
    roles: Mapping[Snowflake, Role]
    overwrites: Sequence[Overwrite]
    channels: Mapping[Snowflake, Channel]


@dataclass(frozen=True, slots=True)
class OpenThread:
    """A thread not archived, as the auto-archive sweeper reads it."""

    thread: Channel
    last_activity_at: datetime | None  # its last send or reopening; None: none since created


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

    async def text_channel_ids(self, guild_id: Snowflake | None) -> list[Snowflake]:
        """The text channels and threads (the channels that hold messages) of one guild (of
        every guild when None), by id."""

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
        events: EventsOf[ChannelRemoval],
        audit: AuditOf[ChannelRemoval],
    ) -> ChannelRemoval:
        """Also drops its overwrites and invites and its threads (returned, oldest first,
        as they were), orphans its other children, unsets the system channel if it was that."""

    async def create_thread(
        self,
        thread: Channel,
        *,
        creator: ThreadMember,
        events: EventsOf[Channel],
        audit: AuditOf[Channel],
    ) -> Channel:
        """A thread under its parent text channel (BadUserInput when the parent is not one),
        with its creator as its first member."""

    async def add_thread_member(
        self, member: ThreadMember, *, events: EventsOf[tuple[ThreadMember, bool]]
    ) -> tuple[ThreadMember, bool]:
        """Join; False when already a member (then `events` should name none)."""

    async def remove_thread_member(
        self,
        guild_id: Snowflake,
        thread_id: Snowflake,
        user_id: Snowflake,
        *,
        events: EventsOf[bool],
    ) -> bool:
        """Leave; False when not a member."""

    async def thread_members(
        self,
        guild_id: Snowflake,
        thread_id: Snowflake,
        *,
        after_user_id: Snowflake | None,
        limit: int,
    ) -> list[ThreadMember]:
        """Members by user id."""

    async def open_threads(self, *, after_id: Snowflake | None, limit: int) -> list[OpenThread]:
        """Threads not archived, of every guild, by id (for the auto-archive sweeper)."""

    async def touch_thread(self, guild_id: Snowflake, thread_id: Snowflake, at: datetime) -> bool:
        """Record activity (a send) in an open thread; False when it is archived or gone."""

    async def archive_idle_thread(
        self, seen: OpenThread, *, archived_at: datetime, events: EventsOf[Channel]
    ) -> Channel | None:
        """Archive a thread only if it is still open with the last activity `seen` holds
        (one conditional write); None, and no events, when anything changed."""

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
