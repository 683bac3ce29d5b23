"""The permission resolution rule, table-driven (pure: no engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gochat.domain.permissions import (
    ALL,
    DEFAULT_EVERYONE,
    MEMBER,
    ROLE,
    MemberGrants,
    Overwrite,
    Permission,
    base_permissions,
    channel_permissions,
    names,
    parse_mask,
)
from gochat.ids import Snowflake

P = Permission
GUILD = Snowflake(1000)
USER = Snowflake(7)
OWNER = Snowflake(1)
MOD, HELPER = Snowflake(2001), Snowflake(2002)
CHANNEL = Snowflake(3000)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def grants(
    *,
    roles: dict[int, int] | None = None,
    everyone: int = int(DEFAULT_EVERYONE),
    owner: bool = False,
    timeout: datetime | None = None,
) -> MemberGrants:
    return MemberGrants(
        guild_id=GUILD,
        user_id=OWNER if owner else USER,
        is_owner=owner,
        everyone_mask=everyone,
        role_masks={Snowflake(k): v for k, v in (roles or {}).items()},
        timeout_until=timeout,
    )


def ow(target_type: str, target: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
    return Overwrite(CHANNEL, target_type, Snowflake(target), allow, deny)


CASES = [
    # (id, grants, overwrites, private, expected has, expected lacks)
    (
        "owner-has-all",
        grants(owner=True, everyone=0),
        [ow(ROLE, GUILD, deny=int(ALL))],
        True,
        ALL,
        P(0),
    ),
    (
        "administrator-has-all",
        grants(roles={MOD: P.ADMINISTRATOR}, everyone=0),
        [ow(ROLE, GUILD, deny=int(ALL))],
        True,
        ALL,
        P(0),
    ),
    ("everyone-default", grants(), [], False, DEFAULT_EVERYONE, P.MANAGE_MESSAGES | P.KICK_MEMBERS),
    (
        "roles-are-ored",
        grants(roles={MOD: P.KICK_MEMBERS, HELPER: P.MANAGE_MESSAGES}),
        [],
        False,
        DEFAULT_EVERYONE | P.KICK_MEMBERS | P.MANAGE_MESSAGES,
        P.BAN_MEMBERS,
    ),
    (
        "everyone-overwrite-deny",
        grants(),
        [ow(ROLE, GUILD, deny=P.SEND_MESSAGES)],
        False,
        P.VIEW_CHANNELS,
        P.SEND_MESSAGES,
    ),
    (
        "role-allow-beats-everyone-deny",
        grants(roles={MOD: 0}),
        [ow(ROLE, GUILD, deny=P.SEND_MESSAGES), ow(ROLE, MOD, allow=P.SEND_MESSAGES)],
        False,
        P.SEND_MESSAGES,
        P(0),
    ),
    (
        "role-deny-beats-everyone-allow",
        grants(roles={MOD: 0}),
        [ow(ROLE, GUILD, allow=P.MANAGE_MESSAGES), ow(ROLE, MOD, deny=P.MANAGE_MESSAGES)],
        False,
        P.VIEW_CHANNELS,
        P.MANAGE_MESSAGES,
    ),
    (
        "role-allow-beats-other-role-deny",
        grants(roles={MOD: 0, HELPER: 0}),
        [ow(ROLE, MOD, deny=P.ADD_REACTIONS), ow(ROLE, HELPER, allow=P.ADD_REACTIONS)],
        False,
        P.ADD_REACTIONS,
        P(0),
    ),
    (
        "overwrite-of-a-role-not-held-is-ignored",
        grants(),
        [ow(ROLE, MOD, deny=P.SEND_MESSAGES)],
        False,
        P.SEND_MESSAGES,
        P(0),
    ),
    (
        "member-deny-beats-role-allow",
        grants(roles={MOD: 0}),
        [ow(ROLE, MOD, allow=P.SEND_MESSAGES), ow(MEMBER, USER, deny=P.SEND_MESSAGES)],
        False,
        P.VIEW_CHANNELS,
        P.SEND_MESSAGES,
    ),
    (
        "member-allow-beats-role-deny",
        grants(roles={MOD: 0}),
        [ow(ROLE, MOD, deny=P.SEND_MESSAGES), ow(MEMBER, USER, allow=P.SEND_MESSAGES)],
        False,
        P.SEND_MESSAGES,
        P(0),
    ),
    (
        "another-members-overwrite-is-ignored",
        grants(),
        [ow(MEMBER, 99, deny=P.SEND_MESSAGES)],
        False,
        P.SEND_MESSAGES,
        P(0),
    ),
    ("private-hides-from-everyone", grants(), [], True, P(0), P.VIEW_CHANNELS | P.SEND_MESSAGES),
    (
        "private-role-allow-restores",
        grants(roles={MOD: 0}),
        [ow(ROLE, MOD, allow=P.VIEW_CHANNELS)],
        True,
        DEFAULT_EVERYONE,
        P(0),
    ),
    (
        "no-view-means-nothing",
        grants(roles={MOD: P.MANAGE_MESSAGES}),
        [ow(ROLE, GUILD, deny=P.VIEW_CHANNELS)],
        False,
        P(0),
        P.MANAGE_MESSAGES | P.SEND_MESSAGES,
    ),
    (
        "timeout-keeps-view-and-history",
        grants(roles={MOD: P.MANAGE_MESSAGES}, timeout=NOW + timedelta(minutes=5)),
        [],
        False,
        P.VIEW_CHANNELS | P.READ_MESSAGE_HISTORY,
        P.SEND_MESSAGES | P.ADD_REACTIONS | P.VOICE_CONNECT | P.MANAGE_MESSAGES,
    ),
    (
        "expired-timeout-is-over",
        grants(timeout=NOW - timedelta(seconds=1)),
        [],
        False,
        DEFAULT_EVERYONE,
        P(0),
    ),
    (
        "owner-ignores-timeout",
        grants(owner=True, timeout=NOW + timedelta(minutes=5)),
        [],
        False,
        ALL,
        P(0),
    ),
]


@pytest.mark.parametrize(
    ("grant", "overwrites", "private", "has", "lacks"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_channel_permission_resolution(
    grant: MemberGrants,
    overwrites: list[Overwrite],
    private: bool,
    has: Permission,
    lacks: Permission,
) -> None:
    resolved = channel_permissions(grant, overwrites, private=private, now=NOW)
    assert resolved & has == has, f"missing {names(has & ~resolved)}"
    assert not resolved & lacks, f"unexpected {names(resolved & lacks)}"


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        (grants(), DEFAULT_EVERYONE),
        (grants(roles={MOD: P.BAN_MEMBERS}), DEFAULT_EVERYONE | P.BAN_MEMBERS),
        (grants(roles={MOD: P.ADMINISTRATOR}), ALL),
        (grants(owner=True, everyone=0), ALL),
        (grants(timeout=NOW + timedelta(hours=1)), P.VIEW_CHANNELS | P.READ_MESSAGE_HISTORY),
    ],
    ids=["everyone", "role", "administrator", "owner", "timed-out"],
)
def test_guild_wide_permissions(grant: MemberGrants, expected: Permission) -> None:
    assert base_permissions(grant, now=NOW) == expected


def test_default_mask_is_gochats() -> None:
    assert int(DEFAULT_EVERYONE) == 7927905
    assert names(7927905) == [
        "VIEW_CHANNELS",
        "CREATE_INVITE",
        "CHANGE_NICKNAME",
        "SEND_MESSAGES",
        "SEND_MESSAGES_IN_THREADS",
        "CREATE_THREADS",
        "ATTACH_FILES",
        "ADD_REACTIONS",
        "READ_MESSAGE_HISTORY",
        "VOICE_CONNECT",
        "VOICE_SPEAK",
        "VOICE_VIDEO",
    ]


def test_masks_with_unknown_bits_are_refused() -> None:
    assert parse_mask(int(P.ADMINISTRATOR)) == P.ADMINISTRATOR
    with pytest.raises(ValueError, match="not permissions"):
        parse_mask(1 << 40)
    with pytest.raises(ValueError, match="not permissions"):
        parse_mask(-1)
