"""`events`: the signed-in user's own stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from gochat.bus import subjects
from gochat.bus.codec import decode
from gochat.domain import events as domain_events
from gochat.errors import Unauthenticated
from gochat.schema.context import Info
from gochat.schema.events import Event, from_domain


@strawberry.type
class EventsSubscription:
    @strawberry.subscription(
        description="Everything the signed-in user may see, as it happens. The stream ends with "
        "UNAUTHENTICATED when the access token expires (reconnect with a fresh one), and after a "
        "SessionRevoked for this session."
    )
    async def events(self, info: Info) -> AsyncGenerator[Event, None]:
        context = info.context
        viewer = await context.viewer()
        deadline = context.token_expires_at_monotonic()
        subscription = await context.services.bus.subscribe(subjects.user(viewer.user_id))
        try:
            async with asyncio.timeout_at(deadline):
                async for envelope in subscription:
                    event = decode(envelope.payload)
                    shaped = from_domain(event)
                    if shaped is not None:
                        yield shaped
                    if isinstance(event, domain_events.SessionRevoked) and event.session_id in (
                        None,
                        viewer.session_id,
                    ):
                        return
        except TimeoutError:
            raise Unauthenticated("access token expired; reconnect with a fresh token") from None
        finally:
            await subscription.close()
