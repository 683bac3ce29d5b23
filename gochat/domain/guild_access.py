"""Who may do what in a guild: loads a member's permission data once per operation and answers
permission and hierarchy questions with the one resolution rule of `domain.permissions`.

`access(viewer, guild_id)` raises the same NotFound for a missing guild and for a guild the
viewer is not in, so existence never leaks to outsiders.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gochat.bus import Envelope, subjects
from gochat.bus.codec import event_type
from gochat.domain.events import (
    MessageCreated,
    MessagePinned,
    MessagesDeleted,
    MessageUpdated,
    ReactionAdded,
    ReactionRemoved,
)
from gochat.domain.permissions import (
    ALL,
    NONE,
    MemberGrants,
    Overwrite,
    Permission,
    base_permissions,
    channel_permissions,
)
from gochat.domain.records import Channel, Guild, Member, Role, Viewer
from gochat.errors import Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import GuildAccessData, GuildStore

_OWNER_RANK = 1 << 30

# Events on a guild's subject that never change its permission data (guild, roles, channels,
# overwrites): they must not empty the cache, or every message sent would reload it.
_CONTENT_EVENTS = frozenset(
    cls.TYPE
    for cls in (
        MessageCreated,
        MessageUpdated,
        MessagesDeleted,
        MessagePinned,
        ReactionAdded,
        ReactionRemoved,
    )
)


@dataclass(frozen=True, slots=True)
class GuildView:
    """One member's standing in one guild, as of the start of the operation."""

    data: GuildAccessData
    member: Member
    now: datetime

    @property
    def guild(self) -> Guild:
        return self.data.guild

    @property
    def user_id(self) -> Snowflake:
        return self.member.user_id

    @property
    def is_owner(self) -> bool:
        return self.guild.owner_id == self.member.user_id

    def grants_of(self, member: Member) -> MemberGrants:
        everyone = self.data.roles.get(self.guild.id)
        return MemberGrants(
            guild_id=self.guild.id,
            user_id=member.user_id,
            is_owner=self.guild.owner_id == member.user_id,
            everyone_mask=everyone.permissions if everyone else 0,
            role_masks={
                rid: self.data.roles[rid].permissions
                for rid in member.role_ids
                if rid in self.data.roles and rid != self.guild.id
            },
            timeout_until=member.timeout_until,
        )

    def permissions(self, member: Member | None = None) -> Permission:
        return base_permissions(self.grants_of(member or self.member), now=self.now)

    def channel_overwrites(self, channel_id: Snowflake) -> list[Overwrite]:
        return [ow for ow in self.data.overwrites if ow.channel_id == channel_id]

    def permissions_in(self, channel: Channel, member: Member | None = None) -> Permission:
        if channel.is_thread:
            # A thread takes its parent's permissions, the parent's overwrites included.
            parent = self.data.channels.get(channel.parent_id) if channel.parent_id else None
            if parent is None:
                return NONE
            channel = parent
        return channel_permissions(
            self.grants_of(member or self.member),
            self.channel_overwrites(channel.id),
            private=channel.private,
            now=self.now,
        )

    def require(self, permission: Permission, what: str) -> None:
        if not self.permissions() & permission == permission:
            raise Forbidden(f"you need {_name(permission)} to {what}")

    def require_in(self, channel: Channel, permission: Permission, what: str) -> None:
        if not self.permissions_in(channel) & permission == permission:
            raise Forbidden(f"you need {_name(permission)} in this channel to {what}")

    def channel(self, channel_id: Snowflake) -> Channel:
        """A channel of this guild the member can see; NotFound otherwise."""
        channel = self.data.channels.get(channel_id)
        if channel is None or not self.permissions_in(channel) & Permission.VIEW_CHANNELS:
            raise NotFound("channel not found")
        return channel

    def visible_channels(self) -> list[Channel]:
        """The guild's channels the member can see, threads aside (they are listed per
        parent)."""
        found = [
            c
            for c in self.data.channels.values()
            if not c.is_thread and self.permissions_in(c) & Permission.VIEW_CHANNELS
        ]
        return sorted(found, key=lambda c: (c.position, c.id))

    def role(self, role_id: Snowflake) -> Role:
        role = self.data.roles.get(role_id)
        if role is None:
            raise NotFound("role not found")
        return role

    def rank(self, member: Member | None = None) -> int:
        """The position of the member's highest role; the owner outranks everyone."""
        member = member or self.member
        if self.guild.owner_id == member.user_id:
            return _OWNER_RANK
        positions = [self.data.roles[r].position for r in member.role_ids if r in self.data.roles]
        return max(positions, default=0)

    def require_above_role(self, role: Role, what: str) -> None:
        if not self.is_owner and role.position >= self.rank():
            raise Forbidden(f"you can only {what} roles below your highest role")

    def require_above_member(self, target: Member, what: str) -> None:
        if target.user_id == self.guild.owner_id:
            raise Forbidden(f"you cannot {what} the guild owner")
        if not self.is_owner and self.rank(target) >= self.rank():
            raise Forbidden(f"you can only {what} members whose highest role is below yours")

    def require_grantable(self, mask: int) -> None:
        """Nobody grants a permission they lack (the owner and ADMINISTRATOR have them all)."""
        mine = self.permissions()
        missing = Permission(mask & ALL.value) & ~mine
        if missing:
            raise Forbidden(f"you cannot grant permissions you lack: {_name(missing)}")


def _name(permission: Permission) -> str:
    return " and ".join(p.name or "" for p in Permission if permission & p)


class GuildStateCache:
    """Guild-wide permission data (guild, roles, channels, overwrites) and the standing of
    members seen recently (roles, timeout), per process.

    Entries drop as soon as this process commits a change to the guild (every such change,
    members' roles, kicks, bans and timeouts included, publishes an event on the guild's
    subject), and after `ttl_seconds` at the latest, which bounds how stale a change made by
    another process can look: a member kicked through another process may still send here
    for up to `ttl_seconds`, as a role change made there already could. Only members are
    cached, never "not a member". A load that raced with a change is not stored (generation
    check).
    """

    def __init__(self, *, ttl_seconds: float = 2.0, max_guilds: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_guilds
        self._entries: OrderedDict[Snowflake, tuple[float, GuildAccessData]] = OrderedDict()
        self._generations: dict[Snowflake, int] = {}
        self._channels: OrderedDict[Snowflake, Snowflake] = OrderedDict()
        self._members: OrderedDict[tuple[Snowflake, Snowflake], tuple[float, int, Member]] = (
            OrderedDict()
        )

    def get(self, guild_id: Snowflake) -> GuildAccessData | None:
        entry = self._entries.get(guild_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def generation(self, guild_id: Snowflake) -> int:
        return self._generations.get(guild_id, 0)

    def put(self, guild_id: Snowflake, data: GuildAccessData, generation: int) -> None:
        if self.generation(guild_id) != generation:
            return
        self._entries[guild_id] = (time.monotonic() + self._ttl, data)
        self._entries.move_to_end(guild_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def member(self, guild_id: Snowflake, user_id: Snowflake) -> Member | None:
        entry = self._members.get((guild_id, user_id))
        if entry is None or entry[0] < time.monotonic() or entry[1] != self.generation(guild_id):
            return None
        return entry[2]

    def put_member(self, guild_id: Snowflake, member: Member, generation: int) -> None:
        if self.generation(guild_id) != generation:
            return
        key = (guild_id, member.user_id)
        self._members[key] = (time.monotonic() + self._ttl, generation, member)
        self._members.move_to_end(key)
        while len(self._members) > self._max * 10:
            self._members.popitem(last=False)

    def invalidate(self, guild_id: Snowflake) -> None:
        self._generations[guild_id] = self.generation(guild_id) + 1
        self._entries.pop(guild_id, None)

    def channel_guild(self, channel_id: Snowflake) -> Snowflake | None:
        return self._channels.get(channel_id)

    def remember_channel(self, channel_id: Snowflake, guild_id: Snowflake) -> None:
        # A channel never moves between guilds; a deleted one is simply absent from its
        # guild's data, which answers NotFound.
        self._channels[channel_id] = guild_id
        if len(self._channels) > self._max * 10:
            self._channels.popitem(last=False)


class GuildAccess:
    def __init__(self, store: GuildStore, cache: GuildStateCache | None = None) -> None:
        self._store = store
        self._cache = cache or GuildStateCache()
        self._loading: dict[Snowflake, asyncio.Future[None]] = {}

    async def _load(self, guild_id: Snowflake, user_id: Snowflake) -> GuildAccessData | None:
        done = asyncio.get_running_loop().create_future()
        self._loading.setdefault(guild_id, done)
        try:
            return await self._store.load_access(guild_id, user_id)
        finally:
            if self._loading.get(guild_id) is done:
                del self._loading[guild_id]
            done.set_result(None)

    def on_published(self, envelopes: Sequence[Envelope]) -> None:
        """Drop cached guild data that committed events made stale."""
        for envelope in envelopes:
            guild_id = subjects.guild_id_of(envelope.subject)
            if guild_id is not None and event_type(envelope.payload) not in _CONTENT_EVENTS:
                self._cache.invalidate(Snowflake(guild_id))

    async def view(self, viewer: Viewer, guild_id: Snowflake) -> GuildView:
        """The viewer's standing in a guild they belong to; NotFound otherwise."""
        key = ("guild", guild_id)
        cached = viewer.cache.get(key)
        if isinstance(cached, GuildView):
            return cached
        state = self._cache.get(guild_id)
        if state is None and guild_id in self._loading:
            # Another operation is loading this guild: when an entry expires under load, one
            # query refills it instead of one per concurrent request.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._loading[guild_id])
            state = self._cache.get(guild_id)
        generation = self._cache.generation(guild_id)
        if state is None:
            loaded = await self._load(guild_id, viewer.user_id)
            if loaded is None:
                raise NotFound("guild not found")
            self._cache.put(guild_id, replace(loaded, member=None), generation)
            member = loaded.member
            data = loaded
            if member is not None:
                self._cache.put_member(guild_id, member, generation)
        else:
            member = self._cache.member(guild_id, viewer.user_id)
            if member is None:
                member = await self._store.get_member(guild_id, viewer.user_id)
                if member is not None:
                    self._cache.put_member(guild_id, member, generation)
            data = replace(state, member=member)
        if member is None:
            raise NotFound("guild not found")
        view = GuildView(data=data, member=member, now=datetime.now(UTC))
        viewer.cache[key] = view
        return view

    async def view_channel(
        self, viewer: Viewer, channel_id: Snowflake
    ) -> tuple[GuildView, Channel]:
        """A guild channel the viewer can see, with their standing; NotFound otherwise."""
        for cached in viewer.cache.values():
            if isinstance(cached, GuildView) and channel_id in cached.data.channels:
                return cached, cached.channel(channel_id)
        guild_id = self._cache.channel_guild(channel_id)
        if guild_id is None:
            guild_id = await self._store.channel_guild(channel_id)
            if guild_id is None:
                raise NotFound("channel not found")
            self._cache.remember_channel(channel_id, guild_id)
        try:
            view = await self.view(viewer, guild_id)
        except NotFound:
            raise NotFound("channel not found") from None
        return view, view.channel(channel_id)

    @staticmethod
    def forget(viewer: Viewer) -> None:
        """Drop memoized standing after a change, so the rest of the operation sees it."""
        viewer.cache.clear()
