"""Permission bits and the one resolution rule.

Bits are GoChat's (a 64-bit mask). Resolution, for a member in a guild:
1. the guild owner has every permission;
2. base = OR of @everyone and the member's roles; ADMINISTRATOR in base means every permission;
3. in a channel, overwrites apply in order of specificity: @everyone's, then the member's other
   roles (all denies, then all allows), then the member's own overwrite (deny, then allow); a
   private channel denies VIEW_CHANNELS after @everyone's overwrite, so only role or member
   allows open it;
4. without VIEW_CHANNELS in a channel nothing else there is granted;
5. a timed-out member keeps only VIEW_CHANNELS and READ_MESSAGE_HISTORY until the timeout ends.
Category overwrites do not flow into child channels; a child copies them when it is synced.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gochat.ids import Snowflake


class Permission(enum.IntFlag):
    VIEW_CHANNELS = 1 << 0
    MANAGE_CHANNELS = 1 << 1
    MANAGE_ROLES = 1 << 2
    VIEW_AUDIT_LOG = 1 << 3
    MANAGE_SERVER = 1 << 4
    CREATE_INVITE = 1 << 5
    CHANGE_NICKNAME = 1 << 6
    MANAGE_NICKNAMES = 1 << 7
    KICK_MEMBERS = 1 << 8
    BAN_MEMBERS = 1 << 9
    TIMEOUT_MEMBERS = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_MESSAGES_IN_THREADS = 1 << 12
    CREATE_THREADS = 1 << 13
    ATTACH_FILES = 1 << 14
    ADD_REACTIONS = 1 << 15
    MENTION_ROLES = 1 << 16
    MANAGE_MESSAGES = 1 << 17
    MANAGE_THREADS = 1 << 18
    READ_MESSAGE_HISTORY = 1 << 19
    VOICE_CONNECT = 1 << 20
    VOICE_SPEAK = 1 << 21
    VOICE_VIDEO = 1 << 22
    VOICE_MUTE_MEMBERS = 1 << 23
    VOICE_DEAFEN_MEMBERS = 1 << 24
    VOICE_MOVE_MEMBERS = 1 << 25
    ADMINISTRATOR = 1 << 26
    CREATE_EXPRESSIONS = 1 << 27
    MANAGE_EXPRESSIONS = 1 << 28


ALL = Permission((1 << 29) - 1)
NONE = Permission(0)
DEFAULT_EVERYONE = Permission(7_927_905)
TIMED_OUT_KEEPS = Permission.VIEW_CHANNELS | Permission.READ_MESSAGE_HISTORY


def names(mask: int) -> list[str]:
    """Names of the known bits in `mask`, lowest bit first."""
    return [p.name for p in Permission if p.name is not None and mask & p.value]


def unknown_bits(mask: int) -> int:
    return mask & ~ALL.value


def parse_mask(mask: int) -> Permission:
    """A mask from client input; unknown bits raise ValueError."""
    if mask < 0 or unknown_bits(mask):
        raise ValueError("mask has bits that are not permissions")
    return Permission(mask)


ROLE = "role"
MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Overwrite:
    channel_id: Snowflake
    target_type: str  # ROLE or MEMBER
    target_id: Snowflake
    allow: int
    deny: int


@dataclass(frozen=True, slots=True)
class MemberGrants:
    """Everything resolution needs about one member of one guild."""

    guild_id: Snowflake
    user_id: Snowflake
    is_owner: bool
    everyone_mask: int
    role_masks: Mapping[Snowflake, int]  # the member's roles other than @everyone
    timeout_until: datetime | None


def base_permissions(grants: MemberGrants, *, now: datetime) -> Permission:
    if grants.is_owner:
        return ALL
    mask = grants.everyone_mask
    for role_mask in grants.role_masks.values():
        mask |= role_mask
    if mask & Permission.ADMINISTRATOR:
        return ALL
    return _apply_timeout(Permission(mask & ALL.value), grants, now)


def channel_permissions(
    grants: MemberGrants,
    overwrites: Iterable[Overwrite],
    *,
    private: bool,
    now: datetime,
) -> Permission:
    if grants.is_owner:
        return ALL
    base = grants.everyone_mask
    for role_mask in grants.role_masks.values():
        base |= role_mask
    if base & Permission.ADMINISTRATOR:
        return ALL
    mask = base
    everyone_allow = everyone_deny = 0
    roles_allow = roles_deny = 0
    member_allow = member_deny = 0
    for ow in overwrites:
        if ow.target_type == ROLE and ow.target_id == grants.guild_id:
            everyone_allow, everyone_deny = ow.allow, ow.deny
        elif ow.target_type == ROLE and ow.target_id in grants.role_masks:
            roles_allow |= ow.allow
            roles_deny |= ow.deny
        elif ow.target_type == MEMBER and ow.target_id == grants.user_id:
            member_allow, member_deny = ow.allow, ow.deny
    mask = (mask & ~everyone_deny) | everyone_allow
    if private:
        # Private beats any @everyone overwrite; only role or member allows open it.
        mask &= ~Permission.VIEW_CHANNELS
    mask = (mask & ~roles_deny) | roles_allow
    mask = (mask & ~member_deny) | member_allow
    if not mask & Permission.VIEW_CHANNELS:
        return NONE
    return _apply_timeout(Permission(mask & ALL.value), grants, now)


def _apply_timeout(mask: Permission, grants: MemberGrants, now: datetime) -> Permission:
    if grants.timeout_until is not None and grants.timeout_until > now:
        return mask & TIMED_OUT_KEEPS
    return mask
