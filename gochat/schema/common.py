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

# What each bit allows, for GraphiQL readers; the rules themselves live in the domain.
_PERMISSION_MEANINGS = {
    "VIEW_CHANNELS": "See a channel and its events; without it nothing else in the channel "
    "applies.",
    "MANAGE_CHANNELS": "Create, change, reorder and delete channels; list a channel's invites.",
    "MANAGE_ROLES": "Create, change, reorder and delete roles below your highest, assign them, "
    "and set channel permission overwrites.",
    "VIEW_AUDIT_LOG": "Read the guild's audit log.",
    "MANAGE_SERVER": "Change the guild's settings and system channel; list and revoke invites.",
    "CREATE_INVITE": "Create invites to a channel.",
    "CHANGE_NICKNAME": "Set or clear your own nickname.",
    "MANAGE_NICKNAMES": "Set or clear other members' nicknames.",
    "KICK_MEMBERS": "Remove members ranked below you (they may rejoin by invite).",
    "BAN_MEMBERS": "Ban and unban users, and list bans.",
    "TIMEOUT_MEMBERS": "Time members out (they cannot send, react or talk) for up to 28 days.",
    "SEND_MESSAGES": "Send messages in a text channel.",
    "SEND_MESSAGES_IN_THREADS": "Send messages in threads (reserved: threads come later).",
    "CREATE_THREADS": "Start threads (reserved: threads come later).",
    "ATTACH_FILES": "Attach files to messages.",
    "ADD_REACTIONS": "Add a new emoji reaction to a message.",
    "MENTION_ROLES": "Make @everyone, @here and role mentions count; without it they stay "
    "plain text.",
    "MANAGE_MESSAGES": "Delete or pin anyone's messages and remove their reactions.",
    "MANAGE_THREADS": "Manage threads (reserved: threads come later).",
    "READ_MESSAGE_HISTORY": "Read a channel's past messages and pins.",
    "VOICE_CONNECT": "Join a voice channel.",
    "VOICE_SPEAK": "Talk in a voice channel.",
    "VOICE_VIDEO": "Share video in a voice channel.",
    "VOICE_MUTE_MEMBERS": "Mute others in a voice channel.",
    "VOICE_DEAFEN_MEMBERS": "Deafen others in a voice channel.",
    "VOICE_MOVE_MEMBERS": "Move others between voice channels.",
    "ADMINISTRATOR": "Every permission in every channel; overwrites do not apply.",
    "CREATE_EXPRESSIONS": "Add custom emoji to the guild.",
    "MANAGE_EXPRESSIONS": "Rename and delete the guild's custom emoji.",
}

PermissionName = strawberry.enum(
    cast(
        type[enum.Enum],
        enum.Enum(
            "Permission",
            {
                p.name: strawberry.enum_value(p.name, description=_PERMISSION_MEANINGS[p.name])
                for p in perms.Permission
                if p.name
            },
        ),
    ),
    description="One permission bit (GoChat's bit numbers). A guild's owner has them all.",
)

# Shared descriptions of the generic Relay parts of every connection and of every mutation's
# single argument.
EDGES = "The items of this page, each with its cursor, in the list's order."
EDGE_NODE = "The item."
EDGE_CURSOR = "Opaque position of this item: pass it as `after` to read on from here."
PAGE_INFO = "Whether more items lie beyond this page, and the cursors of its ends."
MUTATION_INPUT = strawberry.argument(description="The mutation's arguments, as one input object.")
FIRST = strawberry.argument(description="Page size: 1-100 items (default 50).")
AFTER = strawberry.argument(
    description="A cursor from this list: the page starts just after that item."
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


@strawberry.type(description="Relay page information: where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items come before this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the page's first item; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the page's last item (pass it as `after` for the next page); "
        "null on an empty page."
    )


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


@strawberry.interface(
    description="An object with an id of its own, for normalized client caches (Relay Global "
    "Object Identification): `node(id)` and `nodes(ids)` fetch it again by that id. `__typename` "
    "and `id` together name one object; `id` alone does too, except that a guild's @everyone "
    "role has its guild's id (then `node` returns the guild)."
)
class Node:
    @strawberry.field(description="The object's id (see Node).")
    def id(self) -> strawberry.ID:
        raise NotImplementedError  # every implementing type has its own


def member_id(guild_id: int, user_id: int) -> strawberry.ID:
    """A membership's id: guild and user, which no snowflake or invite code can equal."""
    return strawberry.ID(f"{guild_id}:{user_id}")


def parse_member_id(raw: str) -> tuple[Snowflake, Snowflake] | None:
    guild, sep, user = raw.partition(":")
    guild_id, user_id = parse_id(guild), parse_id(user)
    if not sep or guild_id is None or user_id is None:
        return None
    return guild_id, user_id


def to_id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def snowflake(raw: str, *, field: str) -> Snowflake:
    """A client-supplied ID, or BAD_USER_INPUT naming the field."""
    parsed = parse_id(raw)
    if parsed is None:
        raise BadUserInput("not a valid id", field=field)
    return parsed
