"""Types shared by every area: permissions, page info, ID parsing."""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Sequence
from typing import Protocol, cast

import strawberry

from gochat.domain import permissions as perms
from gochat.errors import BadUserInput
from gochat.ids import Snowflake, parse_id

# The one rule for fields that look a single object up: a nullable result, so that one missing
# object nulls only its own field, and the same error for "missing" and "not visible".
LOOKUP_RULE = "Missing or not visible: null here, with one NOT_FOUND error at this field."

PermissionName = strawberry.enum(
    cast(
        type[enum.Enum],
        enum.Enum("Permission", {p.name: p.name for p in perms.Permission if p.name}),
    ),
    description="One permission bit (GoChat's bit numbers).",
)


@strawberry.type(description="A permission mask, as a decimal string and as names.")
class Permissions:
    mask: str = strawberry.field(description="The 64-bit mask as a decimal string.")
    names: list[PermissionName] = strawberry.field(description="The permissions in the mask.")  # type: ignore[valid-type]

    @classmethod
    def from_mask(cls, mask: int) -> Permissions:
        return cls(mask=str(int(mask)), names=[PermissionName[n] for n in perms.names(mask)])


def mask_from_names(names: Iterable[object]) -> int:
    mask = 0
    for name in names:
        mask |= perms.Permission[getattr(name, "value", str(name))]
    return mask


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


class _Edge(Protocol):
    cursor: str


def page_info(edges: Sequence[_Edge], *, has_next: bool, has_previous: bool) -> PageInfo:
    """Relay page info for a page of edges."""
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


def encode_cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None, *, field: str = "after") -> Snowflake | None:
    if cursor is None:
        return None
    try:
        prefix, _, raw = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput("not a cursor from this list", field=field) from None
    parsed = parse_id(raw) if prefix == kind else None
    if parsed is None:
        raise BadUserInput("not a cursor from this list", field=field)
    return parsed


def to_id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def snowflake(raw: str, *, field: str) -> Snowflake:
    """A client-supplied ID, or BAD_USER_INPUT naming the field."""
    parsed = parse_id(raw)
    if parsed is None:
        raise BadUserInput("not a valid id", field=field)
    return parsed
