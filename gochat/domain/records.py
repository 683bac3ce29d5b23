"""Records: frozen values that domain services return and storage adapters build."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gochat.ids import Snowflake

# Purposes of mailed one-time tokens.
CONFIRM_EMAIL = "confirm_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret


@dataclass(frozen=True, slots=True)
class User:
    """What anyone may see of a user."""

    id: Snowflake
    handle: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Account:
    """A user with the private fields only its owner sees."""

    user: User
    email: str
    email_verified: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    """What login needs; never leaves the domain."""

    user_id: Snowflake
    password_hash: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class UserSettings:
    """An opaque, versioned client document; the version rises by one on every replace."""

    user_id: Snowflake
    version: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """One login: a refresh-token family. Revoking it ends every token it issued."""

    id: Snowflake
    user_id: Snowflake
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller of an operation."""

    user_id: Snowflake
    session_id: Snowflake
    access_expires_at: datetime


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, for rate limits and session records."""

    ip: str
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: Snowflake


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What a refresh-token rotation found: the session it belongs to, or why it failed."""

    status: str  # "rotated" | "reused" | "unknown" | "expired" | "revoked"
    session_id: Snowflake | None = None
    user_id: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: str
    subject: str
    text: str
