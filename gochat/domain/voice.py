"""Voice: who may join which voice channel, on which SFU, and the voice states others see.

The API decides and the SFU only moves packets. `join` checks VOICE_CONNECT (a timed-out member
has lost it) and the channel's user limit, binds the member to the SFU already serving the
channel's room in its region (or the least loaded live one; a room whose SFU died goes to
another on rejoin), holds the member's place as a voice state and returns a short-lived SFU
token naming that session. The SFU reports the member joined, speaking or gone over the bus
(`voice.signals`); the state becomes visible (VoiceStateUpdated) once it is connected, and
lives on while the SFU's heartbeats list it, so an SFU that dies takes its members' states with
it after the heartbeat expiry. Moderators server-mute, deafen, move and disconnect; the SFU
hears of it as bus commands. Whatever takes VOICE_CONNECT away (timeout, kick, ban, a role or
overwrite change, a deleted channel) disconnects the member at once, and a region change moves
a channel's members to an SFU of the new region: the process that committed the change checks
the guild's members in voice after it (`on_published`).

Voice events are ephemeral, on the guild's voice subject; VoiceServerUpdated (new credentials
after a move) is for its member alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from gochat.bus import Envelope, EventBus, SlowConsumer, subjects
from gochat.bus.codec import event_type
from gochat.discovery import SfuInstance, SfuRegistry, least_loaded
from gochat.domain import events as ev
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.guild_access import GuildView
from gochat.domain.permissions import Permission
from gochat.domain.records import Channel, ChannelType, Viewer, VoiceState
from gochat.domain.voice_announcements import VoiceAnnouncements
from gochat.errors import BadUserInput, Conflict, Forbidden, NotFound, Unavailable
from gochat.ids import Snowflake
from gochat.tasks import stop_task, stop_tasks
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens
from gochat.voicestates import ChannelFull, VoiceStateStore

log = structlog.get_logger("gochat.voice")

# Committed events after which a member in voice may have lost VOICE_CONNECT, their channel,
# or their SFU's region.
_RECHECK = frozenset(
    cls.TYPE
    for cls in (
        ev.MemberUpdated,
        ev.MemberRemoved,
        ev.MemberBanned,
        ev.RoleUpdated,
        ev.RoleDeleted,
        ev.OverwriteUpdated,
        ev.OverwriteDeleted,
        ev.ChannelUpdated,
        ev.ChannelDeleted,
        ev.GuildDeleted,
    )
)
_CONNECT = Permission.VIEW_CHANNELS | Permission.VOICE_CONNECT


@dataclass(frozen=True, slots=True)
class VoicePolicy:
    regions: tuple[str, ...] = ("global",)
    heartbeat_expiry_seconds: float = signals.HEARTBEAT_EXPIRY_SECONDS
    sweep_interval_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class VoiceJoin:
    """Where and how the member connects: `token` is for `sfu_url` only, until `expires_at`."""

    state: VoiceState
    sfu_url: str
    token: str
    region: str
    expires_at: datetime


class VoiceService(VoiceAnnouncements):
    def __init__(
        self,
        kit: ChangeKit,
        store: VoiceStateStore,
        registry: SfuRegistry,
        tokens: VoiceTokens,
        bus: EventBus,
        *,
        token_ttl_seconds: int,
        policy: VoicePolicy,
    ) -> None:
        self._kit = kit
        self._store = store
        self._registry = registry
        self._tokens = tokens
        self._bus = bus
        self._token_ttl = token_ttl_seconds
        self.policy = policy
        self._tasks: set[asyncio.Task[None]] = set()

    # --- reading ------------------------------------------------------------------------

    @property
    def registry(self) -> SfuRegistry:
        return self._registry

    async def regions(self) -> list[tuple[str, bool]]:
        """Every configured region, and whether a voice server of it is alive."""
        live = {i.region for i in await self._registry.live()}
        return [(r, r in live) for r in self.policy.regions]

    def region_of(self, channel: Channel) -> str:
        return channel.voice_region or self.policy.regions[0]

    async def list_guild(self, viewer: Viewer, guild_id: Snowflake) -> list[VoiceState]:
        """Connected members in the guild's voice channels the viewer can see."""
        view = await self._kit.access.view(viewer, guild_id)
        visible = {c.id for c in view.visible_channels()}
        states = await self._store.list_guild(guild_id)
        return [s for s in states if s.connected and s.channel_id in visible]

    async def list_channel(self, viewer: Viewer, channel_id: Snowflake) -> list[VoiceState]:
        _, channel = await self._kit.access.view_channel(viewer, channel_id)
        states = await self._store.list_guild(channel.guild_id)
        return [s for s in states if s.connected and s.channel_id == channel.id]

    async def get_mine(self, viewer: Viewer) -> VoiceState | None:
        return await self._store.get(viewer.user_id)

    # --- a member's own voice -------------------------------------------------------------

    async def join(self, viewer: Viewer, channel_id: Snowflake) -> VoiceJoin:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        if channel.type != ChannelType.VOICE:
            raise BadUserInput("only voice channels can be joined", field="channelId")
        view.require_in(channel, Permission.VOICE_CONNECT, "join voice")
        previous = await self._store.get(viewer.user_id)
        # Their own mute and deafen stay with the member within the guild.
        carried = previous if previous and previous.guild_id == channel.guild_id else None
        bypass = view.permissions_in(channel) & Permission.VOICE_MOVE_MEMBERS
        return await self._connect(
            view,
            channel,
            viewer.user_id,
            carried=carried,
            previous=previous,
            limit=0 if bypass else channel.user_limit,
        )

    async def leave(self, viewer: Viewer) -> VoiceState | None:
        """Hang up; None when the viewer was not in voice."""
        state = await self._store.remove(viewer.user_id)
        if state is not None:
            await self._gone(state, reason="left")
        return state

    async def update_self(
        self, viewer: Viewer, *, self_mute: bool | None, self_deaf: bool | None
    ) -> VoiceState:
        changes = {
            k: v for k, v in (("self_mute", self_mute), ("self_deaf", self_deaf)) if v is not None
        }
        state = await self._store.get(viewer.user_id)
        if state is None:
            raise NotFound("you are not in voice")
        if not changes:
            return state
        return await self._change(state, changes)

    # --- moderation -----------------------------------------------------------------------

    async def set_server_state(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        user_id: Snowflake,
        *,
        mute: bool | None = None,
        deaf: bool | None = None,
    ) -> VoiceState:
        """Server-mute or deafen a member in voice. It is kept on their membership (audited),
        so leaving and rejoining does not lift it; the SFU applies it at once."""
        view = await self._kit.access.view(viewer, guild_id)
        state = await self._member_in_voice(view, user_id)
        channel = view.channel(state.channel_id)
        changes: dict[str, bool] = {}
        values: dict[str, object] = {}
        if mute is not None:
            view.require_in(channel, Permission.VOICE_MUTE_MEMBERS, "server-mute members")
            changes["server_mute"] = values["voice_mute"] = mute
        if deaf is not None:
            view.require_in(channel, Permission.VOICE_DEAFEN_MEMBERS, "server-deafen members")
            changes["server_deaf"] = values["voice_deaf"] = deaf
        kit = self._kit
        pending = Pending()
        await kit.store.update_member(
            guild_id,
            user_id,
            values,
            events=kit.guild_events(
                pending, guild_id, lambda m, eid: ev.MemberUpdated(event_id=eid, member=m)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="MEMBER_VOICE",
                target_type="member",
                target_id=user_id,
                changes={k: [getattr(state, k), v] for k, v in changes.items()},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        after = await self._change(state, changes)
        await self._command(
            after.sfu_id,
            signals.SetServerState(
                session_id=after.session_id,
                user_id=after.user_id,
                server_mute=after.server_mute,
                server_deaf=after.server_deaf,
            ),
        )
        return after

    async def move(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake, to_channel_id: Snowflake
    ) -> VoiceState:
        """Move a member in voice to another voice channel of the guild; they receive their
        new credentials as VoiceServerUpdated."""
        view = await self._kit.access.view(viewer, guild_id)
        state = await self._member_in_voice(view, user_id)
        source = view.channel(state.channel_id)
        target = view.channel(to_channel_id)
        if target.type != ChannelType.VOICE:
            raise BadUserInput("members move to a voice channel", field="toChannelId")
        view.require_in(source, Permission.VOICE_MOVE_MEMBERS, "move members")
        view.require_in(target, Permission.VOICE_MOVE_MEMBERS, "move members")
        member = await self._view_of(guild_id, user_id)
        if member is None or member.permissions_in(target) & _CONNECT != _CONNECT:
            raise Forbidden("that member may not join the target channel")
        joined = await self._connect(member, target, user_id, carried=state, previous=state)
        await self._send_credentials(joined)
        return joined.state

    async def disconnect(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake
    ) -> VoiceState:
        view = await self._kit.access.view(viewer, guild_id)
        state = await self._member_in_voice(view, user_id)
        view.require_in(
            view.channel(state.channel_id), Permission.VOICE_MOVE_MEMBERS, "disconnect members"
        )
        removed = await self._store.remove(user_id, session_id=state.session_id)
        if removed is None:
            raise NotFound("that member is not in voice")
        await self._gone(removed, reason="disconnected")
        return removed

    async def _member_in_voice(self, view: GuildView, user_id: Snowflake) -> VoiceState:
        state = await self._store.get(user_id)
        if state is None or state.guild_id != view.guild.id:
            raise NotFound("that member is not in voice")
        return state

    # --- the SFU side ---------------------------------------------------------------------

    async def handle_report(self, report: signals.Report) -> None:
        """Apply one SFU report; idempotent, and announced once across API processes."""
        expiry = self.policy.heartbeat_expiry_seconds
        match report:
            case signals.MemberJoined():
                await self._confirm(report.sfu_id, report, expiry)
            case signals.Heartbeat():
                for member in report.members:
                    await self._confirm(report.sfu_id, member, expiry)
            case signals.MemberLeft():
                state = await self._store.remove(
                    Snowflake(report.user_id), session_id=Snowflake(report.session_id)
                )
                if state is not None:
                    await self._announce_left(state)
            case signals.VideoChanged():
                changed = await self._store.update(
                    Snowflake(report.user_id), Snowflake(report.session_id), {"video": report.video}
                )
                if changed is not None and changed[0] != changed[1] and changed[1].connected:
                    await self._announce(changed[1])
            case signals.SpeakingChanged():
                changed = await self._store.update(
                    Snowflake(report.user_id),
                    Snowflake(report.session_id),
                    {"speaking": report.speaking},
                )
                if changed is not None and changed[0] != changed[1] and changed[1].connected:
                    after = changed[1]
                    await self._publish(
                        after.guild_id,
                        ev.SpeakingUpdated(
                            event_id=self._kit.ids.next_id(),
                            guild_id=after.guild_id,
                            channel_id=after.channel_id,
                            user_id=after.user_id,
                            speaking=after.speaking,
                        ),
                    )

    async def _confirm(
        self, sfu_id: str, member: signals.MemberJoined | signals.RoomMember, expiry: float
    ) -> None:
        changed = await self._store.update(
            Snowflake(member.user_id),
            Snowflake(member.session_id),
            {"connected": True},
            ttl_seconds=expiry,
        )
        if changed is None or changed[1].sfu_id != sfu_id:
            # A session the API no longer knows (left, moved, expired, or never issued here):
            # the SFU must drop it.
            await self._command(
                sfu_id,
                signals.Disconnect(
                    session_id=member.session_id, user_id=member.user_id, reason="unknown session"
                ),
            )
            return
        before, after = changed
        if not before.connected:
            await self._announce(after)

    async def sweep(self) -> int:
        """Announce the states that lapsed (their SFU stopped listing them); how many."""
        lapsed = await self._store.claim_expired()
        for state in lapsed:
            await self._gone(state, reason="expired")
        return len(lapsed)

    async def run(self) -> None:
        """Apply SFU reports and sweep lapsed states until cancelled. A bus outage or an
        overflow costs the reports of the moment (the next heartbeats correct the states);
        the subscription is opened again."""
        sweeper = asyncio.create_task(self._sweep_forever(), name="gochat-voice-sweep")
        try:
            while True:
                try:
                    await self._apply_reports()
                except (Unavailable, SlowConsumer) as exc:
                    log.warning("voice.reports_interrupted", reason=str(exc))
                await asyncio.sleep(self.policy.sweep_interval_seconds)
        finally:
            await stop_task(sweeper)

    async def _apply_reports(self) -> None:
        subscription = await self._bus.subscribe(signals.sfu_reports(), max_pending=4096)
        try:
            async for envelope in subscription:
                report = signals.decode_report(envelope.payload)
                if report is None:
                    continue
                try:
                    await self.handle_report(report)
                except Unavailable as exc:
                    log.warning("voice.report_deferred", reason=exc.message)
                except Exception:  # one bad report must not stop the others
                    log.exception("voice.report_failed", kind=report.kind)
        finally:
            await subscription.close()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the sweeper must outlive any one failure
                log.warning("voice.sweep_failed", exc_info=True)
            await asyncio.sleep(self.policy.sweep_interval_seconds)

    # --- consequences of other changes ----------------------------------------------------

    def on_published(self, envelopes: Sequence[Envelope]) -> None:
        """After a committed change that may take voice away from members (or change a
        channel's region), check the guild's members in voice."""
        guilds = {
            guild_id
            for e in envelopes
            if (guild_id := subjects.guild_id_of(e.subject)) is not None
            and event_type(e.payload) in _RECHECK
        }
        for guild_id in guilds:
            task = asyncio.create_task(self._recheck(Snowflake(guild_id)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _recheck(self, guild_id: Snowflake) -> None:
        try:
            await self.recheck_guild(guild_id)
        except Exception:  # a background check: log, never crash the publisher
            log.exception("voice.recheck_failed", guild_id=guild_id)

    async def recheck_guild(self, guild_id: Snowflake) -> None:
        """Disconnect members who lost voice in the guild, update the SFU's view of what the
        others may send, and move members whose channel's region changed."""
        for state in await self._store.list_guild(guild_id):
            view = await self._view_of(guild_id, state.user_id)
            channel = None if view is None else view.data.channels.get(state.channel_id)
            if view is None or channel is None:
                await self._drop(state, reason="removed")
                continue
            rights = view.permissions_in(channel)
            if rights & _CONNECT != _CONNECT:
                await self._drop(state, reason="lost VOICE_CONNECT")
                continue
            if self.region_of(channel) != state.region:
                try:
                    joined = await self._connect(
                        view, channel, state.user_id, carried=state, previous=state
                    )
                except Unavailable as exc:
                    log.warning("voice.rebind_failed", channel_id=channel.id, reason=exc.message)
                    continue
                await self._send_credentials(joined)
                continue
            await self._command(
                state.sfu_id,
                signals.SetRights(
                    session_id=state.session_id,
                    user_id=state.user_id,
                    can_speak=bool(rights & Permission.VOICE_SPEAK),
                    can_video=bool(rights & Permission.VOICE_VIDEO),
                ),
            )

    async def close(self) -> None:
        await stop_tasks(list(self._tasks))

    # --- internals ------------------------------------------------------------------------

    async def _view_of(self, guild_id: Snowflake, user_id: Snowflake) -> GuildView | None:
        """The member's standing now, or None when they are not in the guild (any more)."""
        member = Viewer(
            user_id=user_id,
            session_id=Snowflake(0),
            access_expires_at=datetime.now(UTC) + timedelta(minutes=1),
        )
        try:
            return await self._kit.access.view(member, guild_id)
        except NotFound:
            return None

    async def _pick(self, channel: Channel) -> SfuInstance:
        region = self.region_of(channel)
        live = await self._registry.live(region)
        # Members of one channel must share an SFU to hear each other: join the room's SFU
        # while it is alive; a room whose SFU died starts again on another.
        room = {
            s.sfu_id
            for s in await self._store.list_guild(channel.guild_id)
            if s.channel_id == channel.id and s.region == region
        }
        for instance in live:
            if instance.id in room:
                return instance
        chosen = least_loaded(live)
        if chosen is None:
            raise Unavailable(f"no voice server is running in region {region}")
        return chosen

    async def _connect(
        self,
        view: GuildView,
        channel: Channel,
        user_id: Snowflake,
        *,
        carried: VoiceState | None,
        previous: VoiceState | None,
        limit: int = 0,
    ) -> VoiceJoin:
        """Issue a new session for the member in `channel` (which their `view` can see) and
        make it their state, ending the one they had."""
        rights = view.permissions_in(channel)
        sfu = await self._pick(channel)
        session_id = self._kit.ids.next_id()
        state = VoiceState(
            user_id=user_id,
            guild_id=channel.guild_id,
            channel_id=channel.id,
            session_id=session_id,
            sfu_id=sfu.id,
            region=sfu.region,
            self_mute=carried.self_mute if carried else False,
            self_deaf=carried.self_deaf if carried else False,
            server_mute=view.member.voice_mute,
            server_deaf=view.member.voice_deaf,
        )
        token, grant = self._tokens.issue(
            user_id=user_id,
            guild_id=channel.guild_id,
            channel_id=channel.id,
            sfu_id=sfu.id,
            session_id=session_id,
            can_speak=bool(rights & Permission.VOICE_SPEAK),
            can_video=bool(rights & Permission.VOICE_VIDEO),
            server_mute=state.server_mute,
            server_deaf=state.server_deaf,
        )
        # The place is held while the client connects: the token's life and one heartbeat.
        hold = self._token_ttl + self.policy.heartbeat_expiry_seconds
        try:
            replaced = await self._store.put(state, ttl_seconds=hold, channel_limit=limit)
        except ChannelFull:
            raise Conflict(f"the voice channel is full ({limit} members)") from None
        ended = replaced or previous
        if ended is not None and ended.session_id != session_id:
            await self._gone(ended, reason="moved")
        return VoiceJoin(
            state=state,
            sfu_url=sfu.url,
            token=token,
            region=sfu.region,
            expires_at=grant.expires_at,
        )

    async def _send_credentials(self, joined: VoiceJoin) -> None:
        state = joined.state
        await self._publish(
            state.guild_id,
            ev.VoiceServerUpdated(
                event_id=self._kit.ids.next_id(),
                guild_id=state.guild_id,
                channel_id=state.channel_id,
                user_id=state.user_id,
                sfu_url=joined.sfu_url,
                token=joined.token,
                region=joined.region,
                expires_at=joined.expires_at,
            ),
        )
