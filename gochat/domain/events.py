"""Domain events: facts published after the state change is durable.

Every event is a frozen dataclass with a stable `TYPE` name and `VERSION`; `gochat.bus.codec`
turns them into bytes and back in one place, for the in-process bus and NATS alike. Events carry
the full objects a client needs to update its view without a refetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gochat.domain.records import User, UserSettings
from gochat.ids import Snowflake


@dataclass(frozen=True, slots=True)
class Event:
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    event_id: Snowflake


@dataclass(frozen=True, slots=True)
class UserUpdated(Event):
    TYPE: ClassVar[str] = "UserUpdated"

    user: User


@dataclass(frozen=True, slots=True)
class UserSettingsUpdated(Event):
    TYPE: ClassVar[str] = "UserSettingsUpdated"

    settings: UserSettings


@dataclass(frozen=True, slots=True)
class SessionRevoked(Event):
    """A session ended (logout, reuse detection, password change); its sockets must close."""

    TYPE: ClassVar[str] = "SessionRevoked"

    user_id: Snowflake
    session_id: Snowflake | None  # None: every session of the user


ALL_EVENT_TYPES: tuple[type[Event], ...] = (UserUpdated, UserSettingsUpdated, SessionRevoked)
