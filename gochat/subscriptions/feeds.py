"""Feeds: what one live subscription listens to and lets through.

A feed names the bus subjects it needs (which may change as the viewer joins or leaves guilds,
DMs and friendships) and judges each event at delivery time through the domain's
`AudienceResolver`. The hub runs feeds for every socket of the process; the same feed can also
be iterated on its own (`FeedStream`), which is the per-subscriber baseline.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncGenerator, Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from gochat.bus import EventBus, SlowConsumer, Subscription, subjects
from gochat.bus.codec import decode
from gochat.domain import events as ev
from gochat.domain.audience import AudienceResolver, ChannelVisibility, channel_of, guild_of
from gochat.domain.presence import PresenceService
from gochat.domain.records import ChannelType, Viewer
from gochat.domain.services import Services
from gochat.errors import BadUserInput, GoChatError, NotFound
from gochat.ids import Snowflake
from gochat.schema import events as shapes


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on one event for one feed."""

    deliver: bool
    end: bool = False  # complete the subscription after this event
    error: GoChatError | None = None  # end it with this error instead
    listen: tuple[str, ...] = ()  # subjects to add
    unlisten: tuple[str, ...] = ()  # subjects to drop
    prepend: tuple[object, ...] = ()  # root values for this feed alone, before the event


SKIP = Admission(deliver=False)
DELIVER = Admission(deliver=True)

_RECENT = 32


@dataclass(eq=False, slots=True)
class Feed:
    viewer: Viewer
    audience: AudienceResolver
    subjects: set[str] = field(default_factory=set)
    # The newest event ids it received, ascending: one event reaches a feed on several
    # subjects (a removal on the guild's and on the user's), and the outbox relay may resend
    # one. (A list: an idle deque costs a 760-byte block per subscription.)
    _recent: list[int] = field(default_factory=list)

    # The GraphQL root value for an event, shared by every feed of the same kind.
    shape: Callable[[ev.Event], object | None] = field(default=shapes.from_domain)

    async def initial(self) -> list[object]:
        """Root values to deliver before any event (a snapshot), read once the feed listens."""
        return []

    def seen(self, event_id: int) -> bool:
        recent = self._recent
        # Ids grow with time and mostly arrive in order: an id above every recent one is new
        # without a search (recent[-1] is the largest while arrivals are in order).
        if not recent or event_id > recent[-1]:
            recent.append(event_id)
        elif event_id in recent:
            return True
        else:
            recent.insert(bisect.bisect(recent, event_id), event_id)
        if len(recent) > _RECENT:
            del recent[0]
        return False

    def verdict_key(self) -> Hashable | None:
        """Feeds with equal keys admit every event alike (the hub judges an event once per
        key); None when the verdict is this feed's own. Fixed for the feed's lifetime: the
        hub groups feeds by it when they start listening."""
        return None

    async def admit(self, subject: str, event: ev.Event) -> Admission:
        raise NotImplementedError


def _guild_subjects(guild_id: int) -> tuple[str, ...]:
    return (
        subjects.guild(guild_id),
        subjects.guild_presence(guild_id),
        subjects.voice(guild_id),
    )


def _direct_subjects(channel_id: int) -> tuple[str, ...]:
    # A DM's typing rides along with its messages: a DM is a handful of people, while a
    # guild's typing on every member's stream would cost each keystroke one frame per member
    # (guild typing is for `typing(channelId)` and `channelEvents`).
    return (subjects.channel(channel_id), subjects.typing(channel_id))


@dataclass(eq=False, slots=True)
class EventsFeed(Feed):
    """The signed-in user's whole stream."""

    visibility: ChannelVisibility | None = None

    @classmethod
    async def open(cls, services: Services, viewer: Viewer) -> EventsFeed:
        feed = cls(viewer=viewer, audience=services.audience)
        me = viewer.user_id
        feed.visibility = visibility = ChannelVisibility(services.audience, me)
        feed.subjects.add(subjects.user(me))
        for guild in await services.guilds.list_mine(viewer):
            feed.subjects.update(_guild_subjects(guild.id))
            await visibility.track(guild.id)
        for channel in await services.direct_messages.list_mine(viewer):
            feed.subjects.update(_direct_subjects(channel.id))
        for friend in await services.friends.friends(viewer):
            feed.subjects.add(subjects.presence(friend.id))
        return feed

    def verdict_key(self) -> Hashable | None:
        # Each stream keeps its own record of the channels its viewer was told about.
        return None

    async def admit(self, subject: str, event: ev.Event) -> Admission:
        verdict = await self._judge(event)
        if self.visibility is None or not self.visibility.concerns(event):
            return verdict  # every subscriber, every message: keep this path short
        told = await self._visibility(event)
        return replace(verdict, prepend=tuple(told)) if told else verdict

    async def _visibility(self, event: ev.Event) -> list[object]:
        """ChannelVisibilityLost/Gained when the event hid channels from the viewer or showed
        them some: the events about those channels stop or start arriving silently."""
        visibility = self.visibility
        guild_id = guild_of(event)
        if visibility is None or guild_id is None:
            return []
        me = self.viewer.user_id
        if isinstance(event, ev.GuildCreated) or (
            isinstance(event, ev.MemberJoined) and event.member.user_id == me
        ):
            visibility.track_later(guild_id)
            return []
        if isinstance(event, ev.GuildDeleted) or (
            isinstance(event, ev.MemberRemoved) and event.user_id == me
        ):
            visibility.untrack(guild_id)
            return []
        return list(shapes.from_visibility(guild_id, await visibility.change(event)))

    async def _judge(self, event: ev.Event) -> Admission:
        me = self.viewer.user_id
        match event:
            case ev.SessionRevoked() if event.ends(self.viewer.session_id):
                return Admission(deliver=True, end=True)
            case ev.SessionRevoked(session_id=None):
                return SKIP  # the password change made through this very session
            case ev.GuildCreated(guild=g):
                return Admission(deliver=True, listen=_guild_subjects(g.id))
            case ev.MemberJoined(member=m) if m.user_id == me:
                return Admission(deliver=True, listen=_guild_subjects(m.guild_id))
            case ev.MemberRemoved(guild_id=g, user_id=u) if u == me:
                return Admission(deliver=True, unlisten=_guild_subjects(g))
            case ev.GuildDeleted(guild_id=g):
                return Admission(deliver=True, unlisten=_guild_subjects(g))
            case ev.DirectChannelUpdated(channel=c) if me in c.recipient_ids:
                return Admission(deliver=True, listen=_direct_subjects(c.id))
            case ev.DirectChannelLeft(channel_id=c, user_id=u) if u == me:
                return Admission(deliver=True, unlisten=_direct_subjects(c))
            case ev.FriendAdded(friend_id=f):
                return Admission(deliver=True, listen=(subjects.presence(f),))
            case ev.FriendRemoved(friend_id=f):
                return Admission(deliver=True, unlisten=(subjects.presence(f),))
            case ev.VoiceServerUpdated(user_id=u) if u != me:
                return SKIP  # another member's voice credentials
        if guild_of(event) is None:
            return DELIVER
        return DELIVER if await self.audience.may_see(me, event) else SKIP


@dataclass(eq=False, slots=True)
class ChannelFeed(Feed):
    """One channel's messages, reactions, pins and changes; ends when the viewer loses it."""

    channel_id: Snowflake = field(default=Snowflake(0))
    guild_id: Snowflake | None = None

    @classmethod
    async def open(cls, services: Services, viewer: Viewer, channel_id: Snowflake) -> ChannelFeed:
        try:
            access = await services.messages.channel_access(viewer, channel_id)
        except BadUserInput:
            # Not a message channel: a voice channel's stream is its changes and voice states.
            _, channel = await services.channels.access(viewer, channel_id)
            if channel.type != ChannelType.VOICE:
                raise
            feed = cls(
                viewer=viewer,
                audience=services.audience,
                channel_id=channel_id,
                guild_id=channel.guild_id,
            )
            feed.subjects.update(
                (subjects.guild(channel.guild_id), subjects.voice(channel.guild_id))
            )
            return feed
        feed = cls(
            viewer=viewer,
            audience=services.audience,
            channel_id=channel_id,
            guild_id=access.guild_id,
        )
        feed.subjects.add(subjects.message_channel(channel_id, access.guild_id))
        feed.subjects.add(subjects.typing(channel_id))
        if access.guild_id is None:
            # Leaving a group DM is announced on the user's own subject.
            feed.subjects.add(subjects.user(viewer.user_id))
        return feed

    def verdict_key(self) -> Hashable:
        return (type(self), self.viewer.user_id, self.channel_id, self.guild_id)

    async def admit(self, subject: str, event: ev.Event) -> Admission:
        me = self.viewer.user_id
        if isinstance(event, ev.VoiceServerUpdated):
            return SKIP  # one member's credentials: on their own `events` only
        if self.guild_id is None:
            match event:
                case ev.DirectChannelLeft(channel_id=c, user_id=u) if (
                    c == self.channel_id and u == me
                ):
                    return Admission(deliver=False, error=NotFound("channel not found"))
            return DELIVER if channel_of(event) == self.channel_id else SKIP
        if channel_of(event) == self.channel_id:
            if isinstance(event, ev.ChannelDeleted):
                return Admission(deliver=True, end=True)
            if await self.audience.can_view_channel(self.guild_id, me, self.channel_id):
                return DELIVER
            return Admission(deliver=False, error=NotFound("channel not found"))
        if isinstance(event, ev.MemberRemoved) and event.user_id == me:
            return Admission(deliver=False, error=NotFound("channel not found"))
        if isinstance(event, ev.MessageCreated | ev.MessageUpdated | ev.MessagesDeleted):
            return SKIP  # another channel of the guild
        if isinstance(
            event,
            ev.RoleUpdated | ev.RoleDeleted | ev.MemberUpdated | ev.GuildUpdated | ev.GuildDeleted,
        ) and not await self.audience.can_view_channel(self.guild_id, me, self.channel_id):
            return Admission(deliver=False, error=NotFound("channel not found"))
        return SKIP


@dataclass(eq=False, slots=True)
class TypingFeed(ChannelFeed):
    """Only the channel's typing indicators; ends, like `ChannelFeed`, when access goes."""

    async def admit(self, subject: str, event: ev.Event) -> Admission:
        verdict = await ChannelFeed.admit(self, subject, event)  # slots: no zero-arg super()
        if verdict.deliver and not isinstance(event, ev.TypingStarted):
            return Admission(deliver=False, end=verdict.end, error=verdict.error)
        return verdict


@dataclass(eq=False, slots=True)
class PresenceFeed(Feed):
    """Chosen users' presence: a snapshot first, then their changes. Users the viewer may not
    see show OFFLINE and are not followed."""

    presence: PresenceService | None = None
    requested: tuple[Snowflake, ...] = ()
    user_ids: frozenset[Snowflake] = frozenset()

    @classmethod
    async def open(
        cls, services: Services, viewer: Viewer, user_ids: list[Snowflake]
    ) -> PresenceFeed:
        requested, visible = await services.presence.followable(viewer, user_ids)
        feed = cls(
            viewer=viewer,
            audience=services.audience,
            presence=services.presence,
            requested=tuple(requested),
            user_ids=frozenset(visible),
        )
        feed.subjects.update(subjects.presence(u) for u in visible)
        return feed

    async def initial(self) -> list[object]:
        assert self.presence is not None
        presences = await self.presence.shown(self.requested, self.user_ids)
        return [
            self.shape(ev.PresenceUpdated(event_id=Snowflake(0), presence=p)) for p in presences
        ]

    async def admit(self, subject: str, event: ev.Event) -> Admission:
        if isinstance(event, ev.PresenceUpdated) and event.presence.user_id in self.user_ids:
            return DELIVER
        return SKIP


class FeedStream:
    """A feed iterated on its own: one bus subscription per subject for this subscriber
    alone. The hub does the same work once per process; this is the baseline it is
    measured against, and what runs when the hub is switched off."""

    def __init__(self, bus: EventBus, feed: Feed, *, max_pending: int = 1024) -> None:
        self.feed = feed
        self._bus = bus
        self._max_pending = max_pending
        self._subscriptions: dict[str, Subscription] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=max_pending)
        self._iterator: AsyncGenerator[object, None] | None = None

    def __aiter__(self) -> FeedStream:
        return self

    async def __anext__(self) -> Any:
        if self._iterator is None:
            self._iterator = self._run()
        return await anext(self._iterator)

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def _listen(self, subject: str) -> None:
        if subject in self._subscriptions:
            return
        subscription = await self._bus.subscribe(subject, max_pending=self._max_pending)
        self._subscriptions[subject] = subscription
        self._pumps[subject] = asyncio.create_task(self._pump(subject, subscription))

    async def _unlisten(self, subject: str) -> None:
        subscription = self._subscriptions.pop(subject, None)
        if subscription is not None:
            await subscription.close()
        task = self._pumps.pop(subject, None)
        if task is not None:
            task.cancel()

    async def _pump(self, subject: str, subscription: Subscription) -> None:
        try:
            async for envelope in subscription:
                await self._queue.put((subject, envelope))
        except SlowConsumer:
            await self._queue.put((subject, None))

    async def _run(self) -> AsyncGenerator[object, None]:
        try:
            for subject in tuple(self.feed.subjects):
                await self._listen(subject)
            for item in await self.feed.initial():
                yield item
            while True:
                subject, envelope = await self._queue.get()
                if envelope is None:
                    yield shapes.ResyncRequired(reason="this subscriber fell behind")
                    continue
                event = decode(envelope.payload)
                if self.feed.seen(event.event_id):
                    continue
                # As the hub does: the shared resolver learns from the event before judging
                # (with many streams it learns it more than once, which changes nothing).
                self.feed.audience.before(event)
                try:
                    verdict = await self.feed.admit(subject, event)
                finally:
                    self.feed.audience.after(event)
                for added in verdict.listen:
                    self.feed.subjects.add(added)
                    await self._listen(added)
                for dropped in verdict.unlisten:
                    self.feed.subjects.discard(dropped)
                    await self._unlisten(dropped)
                for root in verdict.prepend:
                    yield root
                if verdict.deliver:
                    shaped = self.feed.shape(event)
                    if shaped is not None:
                        yield shaped
                if verdict.error is not None:
                    raise verdict.error
                if verdict.end:
                    return
        finally:
            for subject in list(self._subscriptions):
                with contextlib.suppress(Exception):
                    await self._unlisten(subject)
