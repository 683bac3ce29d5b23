"""`presence(userIds)` and `typing(channelId)`: live presence of chosen users, and who is
typing in one channel; and the socket hooks that make each connection a presence session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import strawberry

from gochat.domain.records import PresenceStatus
from gochat.errors import BadUserInput
from gochat.schema.common import snowflake
from gochat.schema.context import Info
from gochat.schema.events import PresenceEvent, TypingEvent
from gochat.subscriptions.connection import LiveSocket
from gochat.subscriptions.feeds import FeedStream, PresenceFeed, TypingFeed
from gochat.subscriptions.protocol import CLOSE_BAD_MESSAGE, ProtocolViolation


@strawberry.type
class PresenceSubscription:
    @strawberry.subscription(
        description="The presence of up to 100 users: first one PresenceUpdated per user (a "
        "snapshot), then every change. Users you share no guild, DM or friendship with, and "
        "users either of you blocked, show OFFLINE and are not followed."
    )
    async def presence(
        self,
        info: Info,
        user_ids: Annotated[list[strawberry.ID], strawberry.argument(description="1-100 users.")],
    ) -> AsyncIterator[PresenceEvent]:
        context = info.context
        ids = [snowflake(u, field="userIds") for u in user_ids]
        feed = await PresenceFeed.open(context.services, await context.viewer(), ids)
        return FeedStream(context.services.bus, feed)

    @strawberry.subscription(
        description="Who starts typing in a channel you can view (each indicator lapses at its "
        "`expiresAt`, 10 s later). NOT_FOUND for a channel you cannot view; the stream ends "
        "with NOT_FOUND when you lose access to it."
    )
    async def typing(
        self,
        info: Info,
        channel_id: Annotated[
            strawberry.ID, strawberry.argument(description="A text channel or DM.")
        ],
    ) -> AsyncIterator[TypingEvent]:
        context = info.context
        feed = await TypingFeed.open(
            context.services, await context.viewer(), snowflake(channel_id, field="channelId")
        )
        return FeedStream(context.services.bus, feed)


async def report_presence(socket: LiveSocket) -> None:
    """A signed-in connection becomes a presence session as it is acknowledged, with the
    status its `connection_init` payload names (`"presence": {"status": "IDLE",
    "customStatus": "..."}`), ONLINE by default. A bad one refuses the connection (4400)."""
    if socket.viewer is None:
        return
    wanted = socket.init_payload.get("presence") or {}
    if not isinstance(wanted, dict):
        raise ProtocolViolation(CLOSE_BAD_MESSAGE, "presence must be an object")
    raw_status = wanted.get("status", "online")
    custom = wanted.get("customStatus")
    try:
        status = PresenceStatus(str(raw_status).lower())
        if custom is not None and not isinstance(custom, str):
            raise ValueError("customStatus must be a string")
        socket.presence_session = await socket.services.presence.connect(
            socket.viewer, status=status, custom_status=custom
        )
    except (ValueError, BadUserInput) as exc:
        raise ProtocolViolation(CLOSE_BAD_MESSAGE, f"Invalid presence: {exc}") from None


async def end_presence(socket: LiveSocket) -> None:
    if socket.presence_session is not None:
        await socket.services.presence.disconnect(socket.presence_session)
