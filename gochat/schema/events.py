"""GraphQL types of the events delivered to subscribers, in past tense, carrying full objects."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.domain import events
from gochat.schema.accounts import User, UserSettings


@strawberry.type(description="A user's public profile changed.")
class UserUpdated:
    user: User


@strawberry.type(description="The signed-in user's settings document was replaced.")
class UserSettingsUpdated:
    settings: UserSettings


@strawberry.type(
    description="A session of the signed-in user ended. When it is this connection's session "
    "(or `sessionId` is null: every session), the stream ends after this event."
)
class SessionRevoked:
    session_id: strawberry.ID | None = strawberry.field(
        description="The ended session; null when every session ended."
    )


Event = Annotated[
    UserUpdated | UserSettingsUpdated | SessionRevoked,
    strawberry.union("Event", description="Anything that happened that the subscriber may see."),
]


def from_domain(event: events.Event) -> UserUpdated | UserSettingsUpdated | SessionRevoked | None:
    """The GraphQL shape of a domain event, or None for events clients do not receive."""
    match event:
        case events.UserUpdated(user=user):
            return UserUpdated(user=User.from_record(user))
        case events.UserSettingsUpdated(settings=settings):
            return UserSettingsUpdated(settings=UserSettings.from_record(settings))
        case events.SessionRevoked(session_id=session_id):
            return SessionRevoked(
                session_id=None if session_id is None else strawberry.ID(str(session_id))
            )
    return None
