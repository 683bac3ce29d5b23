"""Custom scalars: one wire format for every timestamp (see gochat/timestamps.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from gochat.timestamps import RFC3339_URL, format_rfc3339, parse_rfc3339


def _parse(value: object) -> datetime:
    # A GraphQLError (not a ValueError) makes graphql-core report the bad variable or literal
    # as the client's mistake instead of an unexpected failure.
    if not isinstance(value, str):
        raise GraphQLError("DateTime takes an RFC 3339 string such as 2026-12-07T05:18:34.485Z")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise GraphQLError(f"DateTime: {exc}") from None


DateTime = strawberry.scalar(
    name="DateTime",
    description=(
        "A point in time: RFC 3339 in UTC with milliseconds, e.g. 2026-12-07T05:18:34.485Z. "
        "Inputs accept any RFC 3339 offset."
    ),
    specified_by_url=RFC3339_URL,
    serialize=format_rfc3339,
    parse_value=_parse,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
