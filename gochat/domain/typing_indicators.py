"""Typing indicators: "someone is typing" in a channel, for its viewers, for 10 seconds.

Typing is ephemeral: never stored, fanned out on the channel's typing subject to whoever
listens at that moment. Starting to type needs SEND_MESSAGES (typing where one cannot send
would be a lie), and is rate limited per user so a client cannot flood a channel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from gochat.bus import EventBus, subjects
from gochat.bus.codec import seal
from gochat.domain import events as ev
from gochat.domain.channel_access import ChannelAccessResolver
from gochat.domain.permissions import Permission
from gochat.domain.records import Viewer
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.ratelimit import RateLimiter

log = structlog.get_logger("gochat.typing")

TYPING_SECONDS = 10


class TypingService:
    def __init__(
        self,
        channels: ChannelAccessResolver,
        bus: EventBus,
        limits: RateLimiter,
        ids: SnowflakeGenerator,
        *,
        rate: tuple[int, int],
    ) -> None:
        self._channels = channels
        self._bus = bus
        self._limits = limits
        self._ids = ids
        self._rate = rate

    async def start(self, viewer: Viewer, channel_id: Snowflake) -> datetime:
        """Tell the channel's viewers that the viewer is typing; returns when it expires."""
        access = await self._channels.message_channel(viewer, channel_id)
        access.require(Permission.SEND_MESSAGES, "type here")
        limit, window = self._rate
        await self._limits.hit(f"typing:{viewer.user_id}", limit=limit, window_seconds=window)
        expires_at = datetime.now(UTC) + timedelta(seconds=TYPING_SECONDS)
        event = ev.TypingStarted(
            event_id=self._ids.next_id(),
            channel_id=channel_id,
            guild_id=access.guild_id,
            user_id=viewer.user_id,
            expires_at=expires_at,
        )
        try:
            await self._bus.publish(seal(event, subjects.typing(channel_id)), durable=False)
        except Exception:  # best effort, like the indicator itself
            log.warning("typing.publish_failed", channel_id=channel_id, exc_info=True)
        return expires_at
