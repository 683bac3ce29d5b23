"""Presence: what each live connection reports, combined per user, announced when it changes.

Every acknowledged WebSocket connection of a signed-in user is part of a presence session,
reported with a TTL that this process refreshes while the connection lives (one timer for the
whole process); a user's connections on one process that report the same status share one.
The combination rule (dnd > online > idle, invisible shows offline) is the store's `combine`.
A user goes offline a short grace period after their last connection closes (a reload or a
network blip does not flap), or when a dead process's TTLs lapse: a sweeper claims lapsed
users from the store, one process per lapse, and announces them.

Announcements are ephemeral `PresenceUpdated` events on the user's presence subject (friends,
`presence(userIds)`) and on the presence subject of each guild the user is in (co-members'
event streams). Who may ask for whose presence is decided here too (`visible`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence, Set
from dataclasses import dataclass

import structlog

from gochat.bus import EventBus, subjects
from gochat.bus.codec import seal
from gochat.domain import events as ev
from gochat.domain.records import Presence, PresenceStatus, Viewer
from gochat.errors import BadUserInput, Conflict
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.presence import PresenceStore
from gochat.storage import DirectStore, GuildStore

log = structlog.get_logger("gochat.presence")

CUSTOM_STATUS_MAX = 128
PRESENCE_IDS_MAX = 100


@dataclass(frozen=True, slots=True)
class PresencePolicy:
    ttl_seconds: float = 60.0
    grace_seconds: float = 5.0
    sweep_interval_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class _Report:
    user_id: Snowflake
    status: PresenceStatus
    custom_status: str | None


@dataclass(eq=False, slots=True)
class PresenceHandle:
    """One connection's place in presence: the session that reports for it. Connections of
    a user on one process that report the same thing share one session (a user with a
    hundred tabs costs one report, not a hundred), so the session may change under it."""

    user_id: Snowflake
    session_id: Snowflake


@dataclass(slots=True)
class _Session:
    report: _Report
    connections: int = 0


def check_report(status: PresenceStatus, custom_status: str | None) -> str | None:
    """A status a connection may report, and its custom status cleaned (None when blank)."""
    if status is PresenceStatus.OFFLINE:
        raise BadUserInput("report INVISIBLE to appear offline", field="status")
    if custom_status is None:
        return None
    cleaned = " ".join(custom_status.split())
    if len(cleaned) > CUSTOM_STATUS_MAX:
        raise BadUserInput(
            f"a custom status has at most {CUSTOM_STATUS_MAX} characters", field="customStatus"
        )
    return cleaned or None


class PresenceService:
    def __init__(
        self,
        store: PresenceStore,
        bus: EventBus,
        guilds: GuildStore,
        direct: DirectStore,
        ids: SnowflakeGenerator,
        *,
        policy: PresencePolicy,
    ) -> None:
        self._store = store
        self._bus = bus
        self._guilds = guilds
        self._direct = direct
        self._ids = ids
        self.policy = policy
        self._local: dict[Snowflake, _Session] = {}  # this process's live sessions
        self._sharing: dict[_Report, Snowflake] = {}  # the session new connections join

    # --- a connection's life ---------------------------------------------------------------

    async def connect(
        self,
        viewer: Viewer,
        *,
        status: PresenceStatus = PresenceStatus.ONLINE,
        custom_status: str | None = None,
    ) -> PresenceHandle:
        """Make a new connection part of the user's presence."""
        report = _Report(viewer.user_id, status, check_report(status, custom_status))
        joined = report in self._sharing  # nothing changes for others
        handle = PresenceHandle(viewer.user_id, await self._join(report))
        if not joined:
            await self._announce(viewer.user_id)
        return handle

    async def _join(self, report: _Report) -> Snowflake:
        session_id = self._sharing.get(report)
        if session_id is None:
            session_id = self._ids.next_id()
            self._local[session_id] = _Session(report)
            self._sharing[report] = session_id
            await self._report(session_id, report)
        self._local[session_id].connections += 1
        return session_id

    def _leave(self, session_id: Snowflake) -> bool:
        """One connection fewer; True when that was the session's last."""
        session = self._local.get(session_id)
        if session is None:
            return False
        session.connections -= 1
        if session.connections > 0:
            return False
        del self._local[session_id]
        if self._sharing.get(session.report) == session_id:
            del self._sharing[session.report]
        return True

    async def disconnect(self, handle: PresenceHandle) -> None:
        """The connection closed. The last one of a user lingers for the grace period; the
        sweeper announces the user offline when it lapses."""
        user_id, session_id = handle.user_id, handle.session_id
        if not self._leave(session_id):
            return
        others = [s for s in await self._store.list_sessions(user_id) if s.session_id != session_id]
        if others or self.policy.grace_seconds <= 0:
            await self._store.remove(user_id, session_id)
            await self._announce(user_id)
        else:
            await self._store.refresh(user_id, session_id, ttl_seconds=self.policy.grace_seconds)

    async def set_status(
        self,
        viewer: Viewer,
        status: PresenceStatus,
        custom_status: str | None,
        *,
        connection: PresenceHandle | None,
    ) -> Presence:
        """Report a status for one connection (over that connection), or for every live
        connection of the user (from anywhere else); a session lingering in its grace period
        takes the status but still lapses at the end of its grace. Returns what others now
        see; Conflict when the user has no live session."""
        user_id = viewer.user_id
        report = _Report(user_id, status, check_report(status, custom_status))
        if connection is not None and connection.session_id in self._local:
            old = connection.session_id
            connection.session_id = await self._join(report)
            if self._leave(old):
                await self._store.remove(user_id, old)
            return await self._announce(user_id)
        targets = [s.session_id for s in await self._store.list_sessions(user_id)]
        reported = 0
        for target in targets:
            session = self._local.get(target)
            if session is None:
                # Another process's session (it keeps it alive), or one of ours lingering
                # after its last connection closed: a full TTL here would keep the user
                # online long after that grace, so the report changes and the expiry stays.
                if await self._store.update(
                    user_id, target, status=report.status, custom_status=report.custom_status
                ):
                    reported += 1
                continue
            if self._sharing.get(session.report) == target:
                del self._sharing[session.report]
            session.report = report
            self._sharing.setdefault(report, target)
            await self._report(target, report)
            reported += 1
        if not reported:
            raise Conflict("you have no live connection: open the WebSocket first")
        return await self._announce(user_id)

    async def _report(self, session_id: Snowflake, report: _Report) -> None:
        await self._store.set(
            report.user_id,
            session_id,
            status=report.status,
            custom_status=report.custom_status,
            ttl_seconds=self.policy.ttl_seconds,
        )

    # --- keeping it true -------------------------------------------------------------------

    async def refresh_local(self) -> None:
        """Extend every live session of this process; report again those the store lost
        (expired during a stall, or a shared store that restarted empty)."""
        for session_id, session in list(self._local.items()):
            report = session.report
            live = await self._store.refresh(
                report.user_id, session_id, ttl_seconds=self.policy.ttl_seconds
            )
            if not live and session_id in self._local and session.report == report:
                await self._report(session_id, report)
                await self._announce(report.user_id)

    async def sweep(self) -> int:
        """Announce the users whose sessions lapsed; returns how many."""
        lapsed = await self._store.claim_lapsed()
        for user_id in lapsed:
            await self._announce(user_id)
        return len(lapsed)

    async def run(self) -> None:
        """The process's presence timer: sweep often, refresh at a third of the TTL."""
        refresh_every = self.policy.ttl_seconds / 3
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + refresh_every
        while True:
            await asyncio.sleep(self.policy.sweep_interval_seconds)
            try:
                if loop.time() >= next_refresh:
                    next_refresh = loop.time() + refresh_every
                    await self.refresh_local()
                await self.sweep()
            except Exception:  # the timer must outlive any one failure
                log.warning("presence.timer_failed", exc_info=True)

    async def close(self) -> None:
        """A clean stop: this process's sessions linger for the grace period, like closed
        connections, so clients that reconnect elsewhere at once never show offline."""
        for session_id, session in list(self._local.items()):
            with contextlib.suppress(Exception):
                await self._store.refresh(
                    session.report.user_id,
                    session_id,
                    ttl_seconds=max(self.policy.grace_seconds, 0.001),
                )
        self._local.clear()
        self._sharing.clear()

    # --- announcing and reading ------------------------------------------------------------

    async def _announce(self, user_id: Snowflake) -> Presence:
        """Publish the user's presence when it differs from the last one announced by any
        process (a reload, a second tab, a lapse of one of several sessions: nothing)."""
        presence = (await self._store.get_many([user_id]))[user_id]
        if not await self._store.swap_shown(presence):
            return presence
        guilds = await self._guilds.list_guilds_of_user(user_id)
        event = ev.PresenceUpdated(event_id=self._ids.next_id(), presence=presence)
        envelopes = seal(
            event,
            subjects.presence(user_id),
            *(subjects.guild_presence(g.id) for g in guilds),
        )
        try:
            await self._bus.publish(envelopes, durable=False)
        except Exception:  # best effort: presence is re-announced on its next change
            log.warning("presence.publish_failed", user_id=user_id, exc_info=True)
        return presence

    async def visible(self, viewer: Viewer, user_ids: Sequence[Snowflake]) -> set[Snowflake]:
        """Whose presence the viewer may see among `user_ids`: their own, friends', DM
        partners' and guild co-members', except across a block either way."""
        me = viewer.user_id
        rest = set(user_ids)
        seen = rest & {me}
        rest -= seen
        if rest:
            seen |= rest & set(await self._direct.friends_of(me))
            rest -= seen
        if rest:
            for channel in await self._direct.list_channels_of(me):
                seen |= rest & set(channel.recipient_ids)
            rest -= seen
        if rest:
            for guild in await self._guilds.list_guilds_of_user(me):
                seen |= set(await self._guilds.get_members(guild.id, sorted(rest)))
                rest -= seen
                if not rest:
                    break
        others = sorted(seen - {me})
        if others:
            blocked = set(await self._direct.blocked_by(me))
            blocked |= await self._direct.who_blocked(me, others)
            seen -= blocked
        return seen

    async def followable(
        self, viewer: Viewer, user_ids: Sequence[Snowflake]
    ) -> tuple[list[Snowflake], set[Snowflake]]:
        """The requested ids without repeats (1-100 of them), and those the viewer may see."""
        if not user_ids:
            raise BadUserInput("name at least one user", field="userIds")
        unique = list(dict.fromkeys(user_ids))
        if len(unique) > PRESENCE_IDS_MAX:
            raise BadUserInput(f"at most {PRESENCE_IDS_MAX} users at once", field="userIds")
        return unique, await self.visible(viewer, unique)

    async def shown(self, user_ids: Sequence[Snowflake], visible: Set[Snowflake]) -> list[Presence]:
        """Each user's presence in order, OFFLINE for those outside `visible`."""
        found = await self._store.get_many(sorted(visible)) if visible else {}
        offline = PresenceStatus.OFFLINE
        return [found.get(u) or Presence(user_id=u, status=offline) for u in user_ids]

    async def snapshot(self, viewer: Viewer, user_ids: Sequence[Snowflake]) -> list[Presence]:
        """Each requested user's presence as the viewer may see it (offline when they may
        not), in request order."""
        unique, visible = await self.followable(viewer, user_ids)
        return await self.shown(unique, visible)
