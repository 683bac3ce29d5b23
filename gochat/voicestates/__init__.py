"""The voice state port: who is in which voice channel, with their mute and speaking flags.

One state per user, each live for a TTL: a join holds its place for about a token's lifetime
until the SFU reports the member; from then on every SFU heartbeat that lists the member keeps
it alive, so the states of an SFU that died lapse on their own and `claim_expired` hands each
lapsed state to exactly one caller to announce. Changes are conditional on the session (a
report from an SFU the member already left changes nothing) and each transition is returned
to exactly one caller, so several API processes sharing a store announce it once.
Adapters: in-process (one server) and Redis (several servers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from gochat.domain.records import VoiceState
from gochat.ids import Snowflake

# The flags `update` may change.
FLAGS = (
    "self_mute",
    "self_deaf",
    "server_mute",
    "server_deaf",
    "video",
    "speaking",
    "connected",
)


class ChannelFull(Exception):
    """`put` refused: the channel already holds `channel_limit` other members."""


def check_changes(changes: Mapping[str, bool]) -> None:
    unknown = set(changes) - set(FLAGS)
    if unknown:
        raise ValueError(f"not voice state flags: {sorted(unknown)}")


class VoiceStateStore(Protocol):
    async def put(
        self, state: VoiceState, *, ttl_seconds: float, channel_limit: int = 0
    ) -> VoiceState | None:
        """Make `state` the user's state, live for `ttl_seconds`; returns the live state it
        replaced (another session, perhaps in another channel), if any. With a
        `channel_limit`, raises ChannelFull instead when that many other users already have
        a live state in the channel (checked and written atomically)."""

    async def get(self, user_id: Snowflake) -> VoiceState | None:
        """The user's live state."""

    async def list_guild(self, guild_id: Snowflake) -> list[VoiceState]:
        """The live states in a guild, by user id."""

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        changes: Mapping[str, bool],
        *,
        ttl_seconds: float | None = None,
    ) -> tuple[VoiceState, VoiceState] | None:
        """Apply `changes` (flags of FLAGS) to the user's live state if it is still session
        `session_id`, and with `ttl_seconds` keep it live that long from now; returns
        (before, after), or None when the user has no such live session. Atomic: of
        concurrent callers making the same change, one sees before != after."""

    async def remove(
        self, user_id: Snowflake, *, session_id: Snowflake | None = None
    ) -> VoiceState | None:
        """Take the user's state away (only if it is session `session_id`, when given) and
        return it; None when there was none. Of concurrent callers one gets it."""

    async def claim_expired(self, *, limit: int = 100) -> list[VoiceState]:
        """States whose TTL lapsed, at most `limit`, removed; each handed to exactly one
        caller across every process sharing the store."""

    async def close(self) -> None: ...
