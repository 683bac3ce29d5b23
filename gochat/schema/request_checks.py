"""Checks on a request that GraphQL validation does not make, run right after it.

* A document with several operations needs an `operationName` (the GraphQL specification's
  GetOperation); without one the request is refused rather than running the first.
* Text must be valid Unicode without NUL characters, wherever it appears: in variables (at any
  depth, keys included) and in string literals of the document. JSON can carry a lone UTF-16
  surrogate (`"\\ud800"`) that no database can store, and PostgreSQL text refuses NUL; both
  are refused here as BAD_USER_INPUT instead of failing inside a write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode, StringValueNode, Visitor, visit
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

# Lone surrogates (a valid pair was already combined by the JSON decoder) and NUL.
_INVALID_TEXT = re.compile("[\ud800-\udfff\x00]")

# A document's string literals can hold invalid text only if its source does, or spells it
# with a \u escape: without either, walking the document (every request) is skipped.
_MAY_HOLD_INVALID = re.compile(r"[\ud800-\udfff\x00]|\\u")

INVALID_TEXT_MESSAGE = "text must be valid Unicode without NUL characters"


def _bad_path(value: Any, path: str) -> str | None:
    """The path of the first string in a JSON value that holds invalid text, if any."""
    if isinstance(value, str):
        return path if _INVALID_TEXT.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _INVALID_TEXT.search(key):
                return path
            found = _bad_path(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.bad: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if _INVALID_TEXT.search(node.value):
            self.bad.append(node)


def invalid_text_error(
    document: DocumentNode, variables: dict[str, Any] | None, source: str | None = None
) -> GraphQLError | None:
    """A BAD_USER_INPUT error naming the first variable or literal with invalid text."""
    for name, value in (variables or {}).items():
        if _INVALID_TEXT.search(name):
            return GraphQLError(
                f"{INVALID_TEXT_MESSAGE}: a variable's name",
                extensions={"code": "BAD_USER_INPUT", "field": "variables"},
            )
        path = _bad_path(value, "")
        if path is not None:
            field = f"{name}{path}"
            return GraphQLError(
                f"{INVALID_TEXT_MESSAGE}: variable '${field}'",
                extensions={"code": "BAD_USER_INPUT", "field": field},
            )
    if source is not None and _MAY_HOLD_INVALID.search(source) is None:
        return None
    literals = _StringLiterals()
    visit(document, literals)
    if literals.bad:
        return GraphQLError(
            f"{INVALID_TEXT_MESSAGE}: string literal",
            nodes=literals.bad[:1],
            extensions={"code": "BAD_USER_INPUT"},
        )
    return None


def ambiguous_operation_error(
    document: DocumentNode, operation_name: str | None
) -> GraphQLError | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        return GraphQLError(
            "the document has several operations: name the one to run in operationName",
            extensions={"code": "BAD_USER_INPUT", "field": "operationName"},
        )
    return None


class RequestChecks(SchemaExtension):
    """Adds the checks above to the validation errors (listed after the validation cache,
    which sets them)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.pre_execution_errors:
            # Strawberry falls back to the first operation's name when none was sent; the
            # name the client really sent is the one that matters here.
            sent_name: str | None = getattr(context, "_provided_operation_name", None)
            error = ambiguous_operation_error(document, sent_name) or invalid_text_error(
                document, context.variables, context.query
            )
            if error is not None:
                # A new list: the validation cache hands out the same one for every request.
                context.pre_execution_errors = [error]
        yield
