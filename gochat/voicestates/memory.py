"""In-process voice states: one server."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from gochat.domain.records import VoiceState
from gochat.ids import Snowflake
from gochat.voicestates import ChannelFull, check_changes


class MemoryVoiceStateStore:
    def __init__(self) -> None:
        self._states: dict[Snowflake, tuple[VoiceState, float]] = {}

    def _live(self, user_id: Snowflake) -> VoiceState | None:
        held = self._states.get(user_id)
        if held is None or held[1] <= time.monotonic():
            return None
        return held[0]

    async def put(
        self, state: VoiceState, *, ttl_seconds: float, channel_limit: int = 0
    ) -> VoiceState | None:
        if channel_limit > 0:
            now = time.monotonic()
            others = sum(
                1
                for s, e in self._states.values()
                if s.channel_id == state.channel_id and s.user_id != state.user_id and e > now
            )
            if others >= channel_limit:
                raise ChannelFull
        before = self._live(state.user_id)
        self._states[state.user_id] = (state, time.monotonic() + ttl_seconds)
        return before

    async def get(self, user_id: Snowflake) -> VoiceState | None:
        return self._live(user_id)

    async def list_guild(self, guild_id: Snowflake) -> list[VoiceState]:
        now = time.monotonic()
        return sorted(
            (s for s, e in self._states.values() if s.guild_id == guild_id and e > now),
            key=lambda s: s.user_id,
        )

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        changes: Mapping[str, bool],
        *,
        ttl_seconds: float | None = None,
    ) -> tuple[VoiceState, VoiceState] | None:
        check_changes(changes)
        before = self._live(user_id)
        if before is None or before.session_id != session_id:
            return None
        flags: dict[str, Any] = dict(changes)
        after = dataclasses.replace(before, **flags)
        expires = (
            time.monotonic() + ttl_seconds if ttl_seconds is not None else self._states[user_id][1]
        )
        self._states[user_id] = (after, expires)
        return before, after

    async def remove(
        self, user_id: Snowflake, *, session_id: Snowflake | None = None
    ) -> VoiceState | None:
        held = self._states.get(user_id)
        if held is None or (session_id is not None and held[0].session_id != session_id):
            return None
        del self._states[user_id]
        return held[0]

    async def claim_expired(self, *, limit: int = 100) -> list[VoiceState]:
        now = time.monotonic()
        lapsed = [u for u, (_, e) in self._states.items() if e <= now][:limit]
        return [self._states.pop(u)[0] for u in lapsed]

    async def close(self) -> None:
        self._states.clear()
