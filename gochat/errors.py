"""The whole error vocabulary of GoChat.

Domain code raises these; `gochat.schema.errors` is the one place that turns them into GraphQL
errors with a stable `extensions.code`. Anything else that escapes is a bug: it is logged once with
the request id and answered as INTERNAL without internals.
"""

from __future__ import annotations

import math
from datetime import datetime

from gochat.timestamps import format_rfc3339


class GoChatError(Exception):
    """Base of every expected failure. `code` is the client-facing `extensions.code`."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, object]:
        return {"code": self.code}


class Unauthenticated(GoChatError):
    code = "UNAUTHENTICATED"


class Forbidden(GoChatError):
    code = "FORBIDDEN"


class NotFound(GoChatError):
    code = "NOT_FOUND"


class Conflict(GoChatError):
    code = "CONFLICT"


class OwnsGuilds(Conflict):
    """The account cannot be deleted while it owns guilds: they must be transferred or
    deleted first (`extensions.reason` OWNS_GUILDS)."""

    def extensions(self) -> dict[str, object]:
        ext = super().extensions()
        ext["reason"] = "OWNS_GUILDS"
        return ext


class BadUserInput(GoChatError):
    """Input that can never succeed as sent. `field` names the offending input field."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def extensions(self) -> dict[str, object]:
        ext = super().extensions()
        if self.field is not None:
            ext["field"] = self.field
        return ext


class QueryTooComplex(BadUserInput):
    """An operation whose computed cost is over the per-operation budget: it did not run.
    `cost` is None when the document was too large to finish computing it."""

    def __init__(self, message: str, *, cost: int | None, max_cost: int) -> None:
        super().__init__(message)
        self.cost = cost
        self.max_cost = max_cost

    def extensions(self) -> dict[str, object]:
        ext = super().extensions()
        ext["cost"] = self.cost
        ext["maxCost"] = self.max_cost
        return ext


class RateLimited(GoChatError):
    code = "RATE_LIMITED"

    def __init__(
        self, message: str, *, retry_after: float, retry_at: datetime | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.retry_at = retry_at

    def extensions(self) -> dict[str, object]:
        ext = super().extensions()
        # Whole seconds, rounded up (as HTTP Retry-After): retrying sooner is refused again.
        ext["retryAfterSeconds"] = max(math.ceil(self.retry_after), 1)
        if self.retry_at is not None:
            ext["retryAt"] = format_rfc3339(self.retry_at)
        return ext


class QueryCostRateLimited(RateLimited):
    """The caller spent its query cost budget for the window; `cost` is what this operation
    would have added."""

    def __init__(self, message: str, *, retry_after: float, cost: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.cost = cost

    def extensions(self) -> dict[str, object]:
        ext = super().extensions()
        ext["cost"] = self.cost
        return ext


class Unavailable(GoChatError):
    """A dependency (database, bus) cannot be reached or is saturated; the request may be
    retried (a send with the same nonce is safe to retry)."""

    code = "UNAVAILABLE"
