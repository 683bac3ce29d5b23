"""A nonce claim's lease in the Cassandra message store runs by the Cassandra cluster's clock,
not by the wall clocks of the API processes: neither a retry on a process whose clock runs
ahead nor one after a claimant whose clock runs behind may take over a lease its claimant may
still be writing under. (The takeover once a lease ran out is in test_message_store.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gochat.domain.records import Mentions, Message, MessageType
from gochat.errors import Unavailable
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.storage.cql import CqlSession, parse_url, sends
from gochat.storage.cql.messages import CqlMessageStore

pytestmark = pytest.mark.timeout(120)

ids = SnowflakeGenerator(80)
SKEW = timedelta(minutes=1)


class _Crash(Exception):
    """Stands for a process that dies between a nonce's claim and the message's batch."""


def _crash() -> None:
    raise _Crash


class _AheadDatetime(datetime):
    """A process's wall clock, a minute ahead of the others'."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + SKEW


class _BehindDatetime(datetime):
    """A process's wall clock, a minute behind the others'."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) - SKEW


def draft(channel_id: int, content: str) -> Message:
    return Message(
        id=ids.next_id(),
        channel_id=Snowflake(channel_id),
        guild_id=Snowflake(9),
        author_id=Snowflake(5),
        type=MessageType.DEFAULT,
        content=content,
        reference_id=None,
        mentions=Mentions(),
        pinned=False,
        edited_at=None,
    )


def no_events(_: Any) -> list[Any]:
    return []


def window() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=10)


@pytest.fixture
async def session(cassandra_url: str) -> AsyncIterator[CqlSession]:
    cql = CqlSession(parse_url(cassandra_url))
    await cql.connect()
    try:
        yield cql
    finally:
        await cql.close()


@pytest.mark.parametrize(
    ("claimant_clock", "retry_clock"),
    [(datetime, _AheadDatetime), (_BehindDatetime, datetime)],
    ids=["retry-ahead", "claimant-behind"],
)
async def test_a_live_lease_is_not_taken_over_whatever_the_process_clocks_say(
    session: CqlSession,
    monkeypatch: pytest.MonkeyPatch,
    claimant_clock: type[datetime],
    retry_clock: type[datetime],
) -> None:
    channel = ids.next_id()
    first = draft(channel, "the first attempt")
    monkeypatch.setattr(sends, "datetime", claimant_clock)
    with pytest.raises(_Crash):
        await CqlMessageStore(session, after_claim=_crash).insert_once(
            first, nonce="skewed", window_start=window(), events=no_events
        )

    monkeypatch.setattr(sends, "datetime", retry_clock)
    retry = CqlMessageStore(session)
    with pytest.raises(Unavailable):
        await retry.insert_once(
            draft(channel, "a retry"), nonce="skewed", window_start=window(), events=no_events
        )
    assert await retry.get(first.id) is None
