"""Which sessions a SessionRevoked ends, and its wire form across versions of the process."""

from __future__ import annotations

import json

import pytest

from gochat.bus.codec import decode, encode
from gochat.domain.events import SessionRevoked
from gochat.ids import Snowflake

USER, MINE, OTHER = Snowflake(1), Snowflake(10), Snowflake(11)


@pytest.mark.parametrize(
    ("session_id", "kept", "ends_mine", "ends_other"),
    [
        (MINE, None, True, False),  # logout, replayed refresh token
        (None, None, True, True),  # logout everywhere, password reset
        (None, MINE, False, True),  # password change through MINE
    ],
)
def test_a_revocation_ends_the_sessions_it_names(
    session_id: Snowflake | None, kept: Snowflake | None, ends_mine: bool, ends_other: bool
) -> None:
    event = SessionRevoked(
        event_id=Snowflake(5), user_id=USER, session_id=session_id, kept_session_id=kept
    )
    assert (event.ends(MINE), event.ends(OTHER)) == (ends_mine, ends_other)
    assert decode(encode(event)) == event


def test_an_event_from_a_process_without_kept_sessions_still_decodes() -> None:
    body = {
        "type": "SessionRevoked",
        "v": 1,
        "data": {"event_id": 5, "user_id": 1, "session_id": None},
    }
    event = decode(json.dumps(body).encode())
    assert isinstance(event, SessionRevoked) and event.ends(MINE) and event.ends(OTHER)
