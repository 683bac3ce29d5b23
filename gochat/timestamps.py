"""The one text form of a point in time: RFC 3339 in UTC with milliseconds and `Z`.

GraphQL's `DateTime` and timestamps stored inside JSON documents (the audit log's changes) use
it, so clients parse one format everywhere. Naive values are UTC: SQLite hands them back so.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

RFC3339_URL = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"

# RFC 3339 date-time: full date, time with seconds, optional fraction, mandatory offset.
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)


def format_rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(value: str) -> datetime:
    """An aware UTC datetime, or ValueError saying what a valid value looks like."""
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError(
            "expected an RFC 3339 date and time with an offset, such as "
            f"2026-12-07T05:18:34.485Z; got {value[:40]!r}"
        )
    day, time, fraction, offset = match.groups()
    micros = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if offset in {"Z", "z"} else offset
    try:
        parsed = datetime.fromisoformat(f"{day}T{time}.{micros}{offset}")
    except ValueError as exc:
        raise ValueError(f"not a valid date and time: {value[:40]!r}") from exc
    return parsed.astimezone(UTC)


def json_default(value: object) -> str:
    """`default=` for json.dumps: datetimes in the one text form, anything else as str."""
    if isinstance(value, datetime):
        return format_rfc3339(value)
    return str(value)
