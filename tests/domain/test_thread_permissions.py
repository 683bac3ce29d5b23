"""What a thread allows, from its parent's permissions (pure: no engine)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gochat.domain.channel_access import thread_permissions
from gochat.domain.permissions import Permission
from gochat.domain.records import Channel, ChannelType
from gochat.ids import Snowflake

P = Permission
BASE = P.VIEW_CHANNELS | P.READ_MESSAGE_HISTORY | P.ADD_REACTIONS


def thread(*, locked: bool = False) -> Channel:
    return Channel(
        id=Snowflake(2),
        guild_id=Snowflake(1),
        type=ChannelType.THREAD,
        name="t",
        topic="",
        parent_id=Snowflake(3),
        position=0,
        private=False,
        voice_region=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        locked=locked,
    )


@pytest.mark.parametrize(
    ("parent", "locked", "may_send"),
    [
        (BASE | P.SEND_MESSAGES | P.SEND_MESSAGES_IN_THREADS, False, True),
        (BASE | P.SEND_MESSAGES_IN_THREADS, False, True),  # the parent's own sends do not matter
        (BASE | P.SEND_MESSAGES, False, False),
        (BASE | P.SEND_MESSAGES | P.SEND_MESSAGES_IN_THREADS, True, False),
        (BASE | P.SEND_MESSAGES_IN_THREADS | P.MANAGE_THREADS, True, True),
        (BASE | P.MANAGE_THREADS, True, False),  # moderating is not sending
    ],
)
def test_sending_in_a_thread_follows_send_messages_in_threads_and_the_lock(
    parent: Permission, *, locked: bool, may_send: bool
) -> None:
    found = thread_permissions(parent, thread(locked=locked))
    assert bool(found & P.SEND_MESSAGES) is may_send
    # Everything else is the parent's.
    assert found & ~P.SEND_MESSAGES == parent & ~P.SEND_MESSAGES
