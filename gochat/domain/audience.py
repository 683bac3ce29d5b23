"""Who may see a live event at the moment it is delivered.

The rules: an event in a guild reaches its members; one about a channel (its messages,
reactions, pins, the channel itself, its overwrites) reaches the members who can view that
channel; bans need BAN_MEMBERS and invites MANAGE_SERVER, as their lists do; a removed member
hears of their own removal and nothing after it. Events on a user's or a DM's own subject reach
whoever listens there: the subject is the audience.

Deciding this for every subscriber of every event must not cost a database read, so the
resolver keeps, per process, each guild's permission data and the memberships of the users it
has been asked about, and keeps them current from the events themselves: `before(event)` and
`after(event)` bracket the judging of one event. Permission results are memoized per guild and
role set. Entries also expire after a few seconds, which bounds the staleness a lost event could
cause; a bus reconnection clears everything (`forget_all`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from gochat.domain import events as ev
from gochat.domain.guild_access import GuildView
from gochat.domain.permissions import MEMBER, Permission
from gochat.domain.records import Channel, Member
from gochat.ids import Snowflake
from gochat.storage import GuildAccessData, GuildStore

# Events whose list is privileged in the API: the same permission gates the live copy.
_GUILD_PERMISSION: dict[type[ev.Event], Permission] = {
    ev.MemberBanned: Permission.BAN_MEMBERS,
    ev.MemberUnbanned: Permission.BAN_MEMBERS,
    ev.InviteCreated: Permission.MANAGE_SERVER,
    ev.InviteRevoked: Permission.MANAGE_SERVER,
}

# Judged with the state from before the event: afterwards the channel or member is gone.
_JUDGED_BEFORE = (
    ev.ChannelDeleted,
    ev.ThreadDeleted,
    ev.MemberRemoved,
    ev.MemberBanned,
    ev.GuildDeleted,
)


def guild_of(event: ev.Event) -> Snowflake | None:
    """The guild an event happened in, or None for user and DM events."""
    match event:
        case (
            ev.MessageCreated(message=m)
            | ev.MessageUpdated(message=m)
            | ev.MessagePinned(message=m)
        ):
            return m.guild_id
        case (
            ev.MessagesDeleted(guild_id=g)
            | ev.ReactionAdded(guild_id=g)
            | ev.ReactionRemoved(guild_id=g)
            | ev.TypingStarted(guild_id=g)
            | ev.VoiceStateUpdated(guild_id=g)
            | ev.SpeakingUpdated(guild_id=g)
            | ev.VoiceServerUpdated(guild_id=g)
        ):
            return g
        case ev.GuildUpdated(guild=g):
            return g.id
        case ev.GuildDeleted(guild_id=g):
            return g
        case (
            ev.ChannelCreated(channel=c)
            | ev.ChannelUpdated(channel=c)
            | ev.ChannelDeleted(channel=c)
            | ev.ThreadCreated(thread=c)
            | ev.ThreadUpdated(thread=c)
            | ev.ThreadDeleted(thread=c)
            | ev.ThreadMembersUpdated(thread=c)
        ):
            return c.guild_id
        case ev.RoleCreated(role=r) | ev.RoleUpdated(role=r) | ev.RoleDeleted(role=r):
            return r.guild_id
        case ev.MemberJoined(member=m) | ev.MemberUpdated(member=m):
            return m.guild_id
        case ev.MemberBanned(ban=b) | ev.MemberUnbanned(ban=b):
            return b.guild_id
        case ev.InviteCreated(invite=i) | ev.InviteRevoked(invite=i):
            return i.guild_id
        case ev.EmojiCreated(emoji=e) | ev.EmojiUpdated(emoji=e) | ev.EmojiDeleted(emoji=e):
            return e.guild_id
        case (
            ev.ChannelsReordered(guild_id=g)
            | ev.RolesReordered(guild_id=g)
            | ev.OverwriteUpdated(guild_id=g)
            | ev.OverwriteDeleted(guild_id=g)
            | ev.MemberRemoved(guild_id=g)
        ):
            return g
    return None


def channel_of(event: ev.Event) -> Snowflake | None:
    """The channel an event is about, for events that only its viewers may see."""
    match event:
        case (
            ev.MessageCreated(message=m)
            | ev.MessageUpdated(message=m)
            | ev.MessagePinned(message=m)
        ):
            return m.channel_id
        case (
            ev.MessagesDeleted(channel_id=c)
            | ev.ReactionAdded(channel_id=c)
            | ev.ReactionRemoved(channel_id=c)
            | ev.TypingStarted(channel_id=c)
            | ev.VoiceStateUpdated(channel_id=c)
            | ev.SpeakingUpdated(channel_id=c)
            | ev.VoiceServerUpdated(channel_id=c)
        ):
            return c
        case (
            ev.ChannelCreated(channel=c)
            | ev.ChannelUpdated(channel=c)
            | ev.ChannelDeleted(channel=c)
            | ev.ThreadCreated(thread=c)
            | ev.ThreadUpdated(thread=c)
            | ev.ThreadDeleted(thread=c)
            | ev.ThreadMembersUpdated(thread=c)
        ):
            return c.id
        case ev.OverwriteUpdated(overwrite=o) | ev.OverwriteDeleted(overwrite=o):
            return o.channel_id
    return None


@dataclass
class _GuildState:
    data: GuildAccessData
    expires: float
    owner_id: Snowflake
    own_overwrites: frozenset[
        tuple[Snowflake, Snowflake]
    ]  # (channel, user) with a member overwrite
    memo: dict[tuple[object, ...], Permission] = field(default_factory=dict)


class AudienceResolver:
    def __init__(
        self,
        guilds: GuildStore,
        *,
        state_ttl_seconds: float = 5.0,
        member_ttl_seconds: float = 30.0,
        max_members: int = 200_000,
    ) -> None:
        self._store = guilds
        self._state_ttl = state_ttl_seconds
        self._member_ttl = member_ttl_seconds
        self._max_members = max_members
        self._states: dict[Snowflake, _GuildState] = {}
        self._generations: dict[Snowflake, int] = {}
        self._members: OrderedDict[tuple[Snowflake, Snowflake], tuple[float, Member | None]] = (
            OrderedDict()
        )

    # --- keeping current -------------------------------------------------------------------

    def before(self, event: ev.Event) -> None:
        """Apply what an event changed, before it and later events are judged."""
        if not isinstance(event, _JUDGED_BEFORE):
            self._apply(event)

    def after(self, event: ev.Event) -> None:
        """Apply the changes that had to wait until the event itself was judged."""
        if isinstance(event, _JUDGED_BEFORE):
            self._apply(event)

    def _apply(self, event: ev.Event) -> None:
        guild_id = guild_of(event)
        if guild_id is None:
            return
        match event:
            case ev.MemberJoined(member=m) | ev.MemberUpdated(member=m):
                self._remember(m.guild_id, m.user_id, m)
            case ev.MemberRemoved(guild_id=g, user_id=u):
                self._remember(g, u, None)
            case ev.MemberBanned(ban=b):
                self._remember(b.guild_id, b.user_id, None)
            case ev.ThreadDeleted(thread=t):
                self._drop_thread(t)
            case (
                ev.GuildUpdated()
                | ev.GuildDeleted()
                | ev.ChannelCreated()
                | ev.ChannelUpdated()
                | ev.ChannelDeleted()
                | ev.ChannelsReordered()
                | ev.RoleCreated()
                | ev.RoleUpdated()
                | ev.RoleDeleted()
                | ev.RolesReordered()
                | ev.OverwriteUpdated()
                | ev.OverwriteDeleted()
                | ev.ThreadCreated()
                | ev.ThreadUpdated()
            ):
                self.forget_guild(guild_id)

    def _drop_thread(self, thread: Channel) -> None:
        """A thread's deletion changes nobody's permissions (it has no overwrites): the state
        keeps everything else, so the threads deleted with their parent, announced before the
        parent's own deletion, are all judged against the parent as it was."""
        guild_id = thread.guild_id
        self._generations[guild_id] = self._generations.get(guild_id, 0) + 1
        state = self._states.get(guild_id)
        if state is not None:
            channels = {k: c for k, c in state.data.channels.items() if k != thread.id}
            state.data = replace(state.data, channels=channels)

    def forget_guild(self, guild_id: Snowflake) -> None:
        self._generations[guild_id] = self._generations.get(guild_id, 0) + 1
        self._states.pop(guild_id, None)

    def forget_all(self) -> None:
        """After events may have been missed (bus reconnection, overflow)."""
        for guild_id in list(self._states):
            self.forget_guild(guild_id)
        self._members.clear()

    def _remember(self, guild_id: Snowflake, user_id: Snowflake, member: Member | None) -> None:
        key = (guild_id, user_id)
        self._members[key] = (time.monotonic() + self._member_ttl, member)
        self._members.move_to_end(key)
        while len(self._members) > self._max_members:
            self._members.popitem(last=False)

    # --- reading ---------------------------------------------------------------------------

    async def member(self, guild_id: Snowflake, user_id: Snowflake) -> Member | None:
        """The user's membership, or None when they are not in the guild."""
        entry = self._members.get((guild_id, user_id))
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        state = await self._state(guild_id, user_id)
        if state is None:
            return None
        entry = self._members.get((guild_id, user_id))
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        member = await self._store.get_member(guild_id, user_id)
        self._remember(guild_id, user_id, member)
        return member

    async def _state(self, guild_id: Snowflake, user_id: Snowflake) -> _GuildState | None:
        state = self._states.get(guild_id)
        if state is not None and state.expires > time.monotonic():
            return state
        generation = self._generations.get(guild_id, 0)
        loaded = await self._store.load_access(guild_id, user_id)
        if loaded is None:
            return None
        state = _GuildState(
            data=replace(loaded, member=None),
            expires=time.monotonic() + self._state_ttl,
            owner_id=loaded.guild.owner_id,
            own_overwrites=frozenset(
                (ow.channel_id, ow.target_id)
                for ow in loaded.overwrites
                if ow.target_type == MEMBER
            ),
        )
        # A change that landed while this load ran makes it stale: use it once, keep nothing.
        if self._generations.get(guild_id, 0) == generation:
            self._states[guild_id] = state
            if loaded.member is not None or (guild_id, user_id) not in self._members:
                self._remember(guild_id, user_id, loaded.member)
        return state

    async def channel_permissions(
        self, guild_id: Snowflake, user_id: Snowflake, channel: Channel | Snowflake
    ) -> Permission:
        """What the user may do in a guild channel (nothing when not a member or the channel is
        gone). A Channel record stands in for one the state no longer holds."""
        member = await self.member(guild_id, user_id)
        if member is None:
            return Permission(0)
        state = await self._state(guild_id, user_id)
        if state is None:
            return Permission(0)
        channel_id = channel if isinstance(channel, int) else channel.id
        record = state.data.channels.get(Snowflake(channel_id))
        if record is None:
            if isinstance(channel, int):
                return Permission(0)
            record = channel
        now = datetime.now(UTC)
        timed_out = member.timeout_until is not None and member.timeout_until > now
        # A thread's permissions are its parent's: the parent's overwrites decide.
        scope = record.parent_id if record.is_thread and record.parent_id else record.id
        personal = user_id == state.owner_id or (scope, user_id) in state.own_overwrites
        key = (scope, member.role_ids, user_id if personal else 0, timed_out)
        found = state.memo.get(key)
        if found is None:
            found = GuildView(data=state.data, member=member, now=now).permissions_in(record)
            state.memo[key] = found
        return found

    async def guild_permissions(self, guild_id: Snowflake, user_id: Snowflake) -> Permission:
        member = await self.member(guild_id, user_id)
        if member is None:
            return Permission(0)
        state = await self._state(guild_id, user_id)
        if state is None:
            return Permission(0)
        now = datetime.now(UTC)
        timed_out = member.timeout_until is not None and member.timeout_until > now
        owner = user_id == state.owner_id
        key = ("guild", member.role_ids, user_id if owner else 0, timed_out)
        found = state.memo.get(key)
        if found is None:
            found = GuildView(data=state.data, member=member, now=now).permissions()
            state.memo[key] = found
        return found

    async def can_view_channel(
        self, guild_id: Snowflake, user_id: Snowflake, channel: Channel | Snowflake
    ) -> bool:
        permissions = await self.channel_permissions(guild_id, user_id, channel)
        return bool(permissions & Permission.VIEW_CHANNELS)

    async def visible_channels(
        self, guild_id: Snowflake, user_id: Snowflake
    ) -> dict[Snowflake, Channel]:
        """The guild's channels the user can view now (none when not a member)."""
        state = await self._state(guild_id, user_id)
        if state is None:
            return {}
        return {
            channel_id: channel
            for channel_id, channel in state.data.channels.items()
            if await self.can_view_channel(guild_id, user_id, channel)
        }

    # --- the rules -------------------------------------------------------------------------

    async def may_see(self, user_id: Snowflake, event: ev.Event) -> bool:
        """Whether the user may see a guild event now; events outside guilds are for whoever
        listens on their subject."""
        guild_id = guild_of(event)
        if guild_id is None:
            return True
        if isinstance(event, ev.MemberRemoved) and event.user_id == user_id:
            return True
        if isinstance(event, ev.MemberBanned) and event.ban.user_id == user_id:
            return False  # they hear MemberRemoved; the ban record is for moderators
        if await self.member(guild_id, user_id) is None:
            return False
        channel_id = channel_of(event)
        if channel_id is not None:
            channel: Channel | Snowflake = channel_id
            if isinstance(event, ev.ChannelCreated | ev.ChannelUpdated | ev.ChannelDeleted):
                channel = event.channel
            elif isinstance(
                event,
                ev.ThreadCreated | ev.ThreadUpdated | ev.ThreadDeleted | ev.ThreadMembersUpdated,
            ):
                channel = event.thread
            return await self.can_view_channel(guild_id, user_id, channel)
        needed = _GUILD_PERMISSION.get(type(event))
        if needed is not None:
            return bool(await self.guild_permissions(guild_id, user_id) & needed)
        return True


# Events after which a member may see other channels than before.
_CHANGES_VISIBILITY = (
    ev.ChannelCreated,
    ev.ThreadCreated,
    ev.ChannelUpdated,
    ev.OverwriteUpdated,
    ev.OverwriteDeleted,
    ev.RoleUpdated,
    ev.RoleDeleted,
    ev.MemberUpdated,
    ev.GuildUpdated,
)
# Events after which a viewer's set of guilds or of visible channels may differ.
_MAY_CHANGE_VISIBILITY = (
    *_CHANGES_VISIBILITY,
    ev.ChannelDeleted,
    ev.ThreadDeleted,
    ev.GuildCreated,
    ev.GuildDeleted,
    ev.MemberJoined,
    ev.MemberRemoved,
)


@dataclass(frozen=True, slots=True)
class VisibilityChange:
    """Channels one viewer stopped or started seeing through one event."""

    lost: tuple[Snowflake, ...] = ()
    gained: tuple[Channel, ...] = ()


NO_CHANGE = VisibilityChange()


class ChannelVisibility:
    """The channels one viewer can see in each of their guilds, kept current from the events,
    so that a stream can tell them when an overwrite, a role or a membership change hides a
    channel or shows one: the events about the channel itself stop or start reaching them
    without saying so. Call `change` after the resolver's `before(event)`."""

    def __init__(self, audience: AudienceResolver, user_id: Snowflake) -> None:
        self._audience = audience
        self._user_id = user_id
        self._visible: dict[Snowflake, frozenset[Snowflake] | None] = {}

    async def track(self, guild_id: Snowflake) -> None:
        current = await self._audience.visible_channels(guild_id, self._user_id)
        self._visible[guild_id] = frozenset(current)

    def track_later(self, guild_id: Snowflake) -> None:
        """Track a guild just joined from its next event on: reading its channels now would
        hold up the stream while the guild's first events (the join notice) pass by."""
        self._visible.setdefault(guild_id, None)

    def untrack(self, guild_id: Snowflake) -> None:
        self._visible.pop(guild_id, None)

    def concerns(self, event: ev.Event) -> bool:
        """Whether the event may change what this viewer is tracked as seeing (or is the first
        of a guild tracked later). False for messages, reactions, typing and presence, which
        are nearly every event: the stream then skips the visibility work for them."""
        if isinstance(event, _MAY_CHANGE_VISIBILITY):
            return True
        guild_id = guild_of(event)
        return (
            guild_id is not None and guild_id in self._visible and self._visible[guild_id] is None
        )

    async def change(self, event: ev.Event) -> VisibilityChange:
        guild_id = guild_of(event)
        if guild_id is None or guild_id not in self._visible:
            return NO_CHANGE
        before = self._visible[guild_id]
        if before is None:
            await self.track(guild_id)
            return NO_CHANGE
        if isinstance(event, ev.ChannelDeleted | ev.ThreadDeleted):
            # Judged before the state forgets it; the deletion itself tells the viewer.
            gone = event.channel if isinstance(event, ev.ChannelDeleted) else event.thread
            self._visible[guild_id] = before - {gone.id}
            return NO_CHANGE
        if not isinstance(event, _CHANGES_VISIBILITY):
            return NO_CHANGE
        if isinstance(event, ev.MemberUpdated) and event.member.user_id != self._user_id:
            return NO_CHANGE
        current = await self._audience.visible_channels(guild_id, self._user_id)
        self._visible[guild_id] = frozenset(current)
        if isinstance(event, ev.ChannelCreated | ev.ThreadCreated):
            # A new channel arrives as ChannelCreated (or ThreadCreated), when visible.
            return NO_CHANGE
        lost = tuple(sorted(c for c in before if c not in current))
        gained = tuple(
            sorted(
                (c for i, c in current.items() if i not in before),
                key=lambda c: (c.position, c.id),
            )
        )
        return VisibilityChange(lost, gained) if lost or gained else NO_CHANGE
