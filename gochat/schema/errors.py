"""The one translation point from failures to GraphQL errors, for HTTP and WebSocket alike.

GoChat errors keep their message and get `extensions.code` (UNAVAILABLE, with the request id,
when a dependency is down or saturated: retryable); parse and validation failures
(including the depth, token and alias limits) are BAD_USER_INPUT; anything else is logged once
with the request id and answered as INTERNAL with no internals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import structlog
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import ValueNode
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
            # The client needs the request id to report it. An outage is logged once per
            # change of state by the readiness probes (gochat.readiness), not per request.
            level = log.debug if original.code == "UNAVAILABLE" else log.warning
            level(
                "graphql.dependency_failed",
                request_id=request_id,
                error=original.message,
                cause=repr(original.__cause__),
            )
            extensions["requestId"] = request_id
        _set(error, original.message, extensions)
    elif original is None or isinstance(original, GraphQLError):
        code = (error.extensions or {}).get("code", "BAD_USER_INPUT")
        message, field = _client_message(error)
        extensions = {**(error.extensions or {}), "code": code}
        if field is not None and "field" not in extensions:
            extensions["field"] = field
        _set(error, message, extensions)
    else:
        log.error(
            "graphql.unexpected_error",
            request_id=request_id,
            path=error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        _set(error, INTERNAL_MESSAGE, {"code": "INTERNAL", "requestId": request_id})
    return error


# graphql-core's coercion messages: "Variable '$input' has invalid value at .maxUses: ...",
# "Argument 'input' has invalid value at .maxUses: ...", and their details, some of which show
# the value as Python writes it ("not to be None", "found: {'a': 1}").
_INVALID_VALUE = re.compile(
    r"^(?:Variable '\$(?P<var>\w+)'|Argument '(?P<arg>\w+)') has invalid value"
    r"(?: at (?P<at>[^:]+))?: (?P<detail>.*)$",
    re.DOTALL,
)
_NOT_NULL = re.compile(r"non-null type '(?P<type>[^']+)' not to be None\.$")
_FOUND = re.compile(r"[.,] Found: .*$|, found: .*$", re.DOTALL | re.IGNORECASE)
_FIELD_BEFORE = re.compile(r"(\w+)\s*:\s*$")
_PYTHON_LITERAL = re.compile(r"\b(?:None|True|False)\b")
_JSON_LITERAL = {"None": "null", "True": "true", "False": "false"}


def _client_message(error: GraphQLError) -> tuple[str, str | None]:
    """The message without Python spellings of values, and the input field it is about (a
    dotted path from the argument or variable, like `input.maxUses`) when that is known."""
    message = error.message
    field: str | None = None
    matched = _INVALID_VALUE.match(message)
    if matched:
        field = (matched["var"] or matched["arg"]) + (matched["at"] or "").strip()
        message = matched["detail"]
    elif (
        error.nodes
        and isinstance(error.nodes[0], ValueNode)
        and error.source is not None
        and error.nodes[0].loc is not None
    ):
        # A literal in the document: the name before it is the field or argument it sets.
        before = _FIELD_BEFORE.search(error.source.body[: error.nodes[0].loc.start])
        field = before.group(1) if before else None
    not_null = _NOT_NULL.search(message)
    if not_null:
        subject = f"'{field}'" if field else "a value"
        return (
            f"{subject} must not be null (type {not_null['type']}): send a value, or leave "
            "the field out if it has a default",
            field,
        )
    message = _FOUND.sub(".", message)
    if matched:
        message = _PYTHON_LITERAL.sub(lambda m: _JSON_LITERAL[m.group(0)], message)
        if field is not None:
            message = f"'{field}': {message}"
    return message, field


def _set(error: GraphQLError, message: str, extensions: dict[str, Any]) -> None:
    error.message = message
    error.extensions = extensions
    error.original_error = None


def http_error_body(message: str, code: str = "BAD_USER_INPUT") -> dict[str, Any]:
    """A GraphQL-shaped body for failures before execution (bad JSON, oversized body): like
    every request error, it has no `data` entry."""
    # The message may quote the request (an operation name), lone surrogates included: keep
    # it encodable as UTF-8.
    safe = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"errors": [{"message": safe, "extensions": {"code": code}}]}


class ErrorTranslation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, ExecutionResult | GraphQLExecutionResult) and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", None)
            result.errors = [translate(e, request_id=request_id) for e in result.errors]
