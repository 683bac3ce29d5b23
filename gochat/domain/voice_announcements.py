"""What the voice service tells others: voice state changes to the guild's viewers (ephemeral
events on its voice subject) and commands to an SFU, both over the bus."""

from __future__ import annotations

import structlog

from gochat.bus import Envelope, EventBus, subjects
from gochat.bus.codec import seal
from gochat.domain import events as ev
from gochat.domain.changes import ChangeKit
from gochat.domain.records import VoiceState
from gochat.errors import NotFound, Unavailable
from gochat.ids import Snowflake
from gochat.voice import signals
from gochat.voicestates import VoiceStateStore

log = structlog.get_logger("gochat.voice")


class VoiceAnnouncements:
    """The voice service's outgoing side; `VoiceService` sets the state it works on."""

    _kit: ChangeKit
    _store: VoiceStateStore
    _bus: EventBus

    async def _change(self, state: VoiceState, changes: dict[str, bool]) -> VoiceState:
        changed = await self._store.update(state.user_id, state.session_id, changes)
        if changed is None:
            raise NotFound("that member is not in voice")
        before, after = changed
        if before != after and after.connected:
            await self._announce(after)
        return after

    async def _drop(self, state: VoiceState, *, reason: str) -> None:
        removed = await self._store.remove(state.user_id, session_id=state.session_id)
        if removed is not None:
            await self._gone(removed, reason=reason)

    async def _gone(self, state: VoiceState, *, reason: str) -> None:
        """A state that ended here: the SFU drops the session, viewers hear it left."""
        await self._command(
            state.sfu_id,
            signals.Disconnect(session_id=state.session_id, user_id=state.user_id, reason=reason),
        )
        await self._announce_left(state)

    async def _announce_left(self, state: VoiceState) -> None:
        if state.connected:  # never shown, so nobody is told it went
            await self._announce(state, gone=True)

    async def _announce(self, state: VoiceState, *, gone: bool = False) -> None:
        await self._publish(
            state.guild_id,
            ev.VoiceStateUpdated(
                event_id=self._kit.ids.next_id(),
                guild_id=state.guild_id,
                channel_id=state.channel_id,
                user_id=state.user_id,
                state=None if gone else state,
            ),
        )

    async def _publish(self, guild_id: Snowflake, event: ev.Event) -> None:
        try:
            await self._bus.publish(seal(event, subjects.voice(guild_id)), durable=False)
        except Unavailable as exc:  # ephemeral: a missed voice event is corrected by a refetch
            log.warning("voice.publish_failed", type=event.TYPE, reason=exc.message)

    async def _command(self, sfu_id: str, command: signals.Command) -> None:
        envelope = Envelope(
            subject=signals.sfu_commands(sfu_id), event_id=0, payload=signals.encode(command)
        )
        try:
            await self._bus.publish([envelope], durable=False)
        except Unavailable as exc:
            log.warning("voice.command_failed", sfu_id=sfu_id, reason=exc.message)
