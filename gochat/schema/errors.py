"""The one translation point from failures to GraphQL errors, for HTTP and WebSocket alike.

GoChat errors keep their message and get `extensions.code` (UNAVAILABLE, with the request id,
when a dependency is down or saturated: retryable); parse and validation failures
(including the depth, token and alias limits) are BAD_USER_INPUT; anything else is logged once
with the request id and answered as INTERNAL with no internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import structlog
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from gochat.errors import GoChatError

log = structlog.get_logger("gochat.graphql")

INTERNAL_MESSAGE = "internal error; quote the requestId when reporting it"


def translate(error: GraphQLError, *, request_id: str | None) -> GraphQLError:
    """Give the error its client-facing message and code, in place (some transports format
    the very objects they hold). Translating twice changes nothing and logs once."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, GoChatError):
        extensions = original.extensions()
        if original.code in {"INTERNAL", "UNAVAILABLE"}:
            # A dependency failed (database, bus): worth an operator's look, and the client
            # needs the request id to report it.
            log.warning(
                "graphql.dependency_failed",
                request_id=request_id,
                error=original.message,
                cause=repr(original.__cause__),
            )
            extensions["requestId"] = request_id
        _set(error, original.message, extensions)
    elif original is None or isinstance(original, GraphQLError):
        code = (error.extensions or {}).get("code", "BAD_USER_INPUT")
        _set(error, error.message, {**(error.extensions or {}), "code": code})
    else:
        log.error(
            "graphql.unexpected_error",
            request_id=request_id,
            path=error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        _set(error, INTERNAL_MESSAGE, {"code": "INTERNAL", "requestId": request_id})
    return error


def _set(error: GraphQLError, message: str, extensions: dict[str, Any]) -> None:
    error.message = message
    error.extensions = extensions
    error.original_error = None


def http_error_body(message: str, code: str = "BAD_USER_INPUT") -> dict[str, Any]:
    """A GraphQL-shaped body for failures before execution (bad JSON, oversized body): like
    every request error, it has no `data` entry."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class ErrorTranslation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, ExecutionResult | GraphQLExecutionResult) and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", None)
            result.errors = [translate(e, request_id=request_id) for e in result.errors]
