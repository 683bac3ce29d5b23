"""Parsing of client-supplied IDs, shared by every resolver module."""

from __future__ import annotations

from gochat.errors import BadUserInput
from gochat.ids import Snowflake, parse_id


def snowflake(raw: str, *, field: str) -> Snowflake:
    parsed = parse_id(raw)
    if parsed is None:
        raise BadUserInput("not a valid id", field=field)
    return parsed
