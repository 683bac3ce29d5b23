"""The one reading of Relay connection arguments, shared by every connection field.

`first` takes the page from the start of the list (or from just after `after`), `last` from its
end (or from just before `before`); asking for both is refused, and every error names the
argument the client gave. Connections that only page forward take `first` and `after`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gochat.errors import BadUserInput
from gochat.ids import Snowflake
from gochat.schema.common import decode_cursor

DEFAULT_SIZE = 50
MAX_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageArgs:
    size: int
    from_end: bool  # the page ends at the end of the list (or at `before`)
    after: Snowflake | None
    before: Snowflake | None


def _size(value: int, name: str, maximum: int) -> int:
    if not 1 <= value <= maximum:
        raise BadUserInput(f"{name} is 1 to {maximum}", field=name)
    return value


def page_args(
    kind: str,
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    from_end_by_default: bool = False,
    default: int = DEFAULT_SIZE,
    maximum: int = MAX_SIZE,
) -> PageArgs:
    """Validated connection arguments. Without `first` and `last`, a page follows `after`,
    ends at `before`, or else sits at the start (or the end, `from_end_by_default`)."""
    if first is not None and last is not None:
        raise BadUserInput("give first or last, not both", field="last")
    after_id = decode_cursor(kind, after, field="after")
    before_id = decode_cursor(kind, before, field="before")
    if first is not None:
        size, from_end = _size(first, "first", maximum), False
    elif last is not None:
        size, from_end = _size(last, "last", maximum), True
    else:
        size, from_end = (
            default,
            _default_end(after_id, before_id, from_end_by_default=from_end_by_default),
        )
    return PageArgs(size, from_end=from_end, after=after_id, before=before_id)


def _default_end(
    after: Snowflake | None, before: Snowflake | None, *, from_end_by_default: bool
) -> bool:
    if after is not None or before is not None:
        return before is not None and after is None
    return from_end_by_default
