"""The whole error vocabulary of GoChat.

Domain code raises these; `gochat.schema.errors` is the one place that turns them into GraphQL
errors with a stable `extensions.code`. Anything else that escapes is a bug: it is logged once with
the request id and answered as INTERNAL without internals.
"""

from __future__ import annotations

import math


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


class RateLimited(GoChatError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def extensions(self) -> dict[str, object]:
        ext = super().extensions()
        # Whole seconds, rounded up: a client that waits this long is let through.
        ext["retryAfterSeconds"] = max(1, math.ceil(self.retry_after))
        return ext


class Unavailable(GoChatError):
    """A dependency (database, bus) cannot be reached or is saturated; the request may be
    retried (a send with the same nonce is safe to retry)."""

    code = "UNAVAILABLE"
