"""`events` and `channelEvents`: the signed-in user's stream, and one channel's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import strawberry

from gochat.schema.common import snowflake
from gochat.schema.context import Info
from gochat.schema.events import Event
from gochat.subscriptions.feeds import ChannelFeed, EventsFeed, FeedStream


@strawberry.type
class EventsSubscription:
    @strawberry.subscription(
        description="Everything the signed-in user may see, as it happens: their guilds "
        "(channels they can view, roles, members, moderation, emoji), their DMs and group DMs, "
        "friends and read states, their own profile and settings. TypingStarted comes for DMs "
        "and group DMs only (the viewer's own included, as on `typing`); typing in guild "
        "channels is on `typing(channelId)` and `channelEvents`, so a busy guild's keystrokes "
        "do not reach every member's stream. Voice: VoiceStateUpdated and SpeakingUpdated "
        "for the voice channels you can view, and VoiceServerUpdated (your new voice server "
        "after a move or a region change) for you alone. Each event is checked against "
        "the viewer's permissions when it is delivered; ChannelVisibilityLost and "
        "ChannelVisibilityGained tell when a permission change hid a channel or showed one. "
        "`ResyncRequired` means events may have "
        "been missed: refetch. The socket closes (4401) when the access token expires; reconnect "
        "with a fresh one. The stream completes after a SessionRevoked for this session, and "
        "the socket closes (4401): sign in again."
    )
    async def events(self, info: Info) -> AsyncIterator[Event]:
        context = info.context
        feed = await EventsFeed.open(context.services, await context.viewer())
        return FeedStream(context.services.bus, feed)

    @strawberry.subscription(
        description="One channel's messages, edits, deletions, reactions and pins, and the "
        "channel's own changes. NOT_FOUND for a channel you cannot view; the stream ends with "
        "NOT_FOUND when you lose access to it, and completes when it is deleted."
    )
    async def channel_events(
        self,
        info: Info,
        channel_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A text channel or DM; or a voice channel, whose stream is its "
                "changes, VoiceStateUpdated and SpeakingUpdated."
            ),
        ],
    ) -> AsyncIterator[Event]:
        context = info.context
        feed = await ChannelFeed.open(
            context.services, await context.viewer(), snowflake(channel_id, field="channelId")
        )
        return FeedStream(context.services.bus, feed)
