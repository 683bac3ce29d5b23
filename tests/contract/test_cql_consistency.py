"""The consistency settings of the Cassandra message store reach the driver: on one node with
replication factor 1, `two` cannot be met (UNAVAILABLE, retryable) and the default
`local_quorum` can; conditions run at the serial level configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT

from gochat.config import Settings
from gochat.domain.records import Mentions, Message, MessageType
from gochat.errors import Unavailable
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.storage import MessageStore
from gochat.wiring import open_message_store

pytestmark = pytest.mark.timeout(120)

ids = SnowflakeGenerator(79)


def draft() -> Message:
    return Message(
        id=ids.next_id(),
        channel_id=Snowflake(ids.next_id()),
        guild_id=Snowflake(9),
        author_id=Snowflake(5),
        type=MessageType.DEFAULT,
        content="hi",
        reference_id=None,
        mentions=Mentions(),
        pinned=False,
        edited_at=None,
    )


def no_events(_: Any) -> list[Any]:
    return []


async def send(store: MessageStore, nonce: str | None) -> tuple[Message, bool]:
    window_start = datetime.now(UTC) - timedelta(minutes=5)
    return await store.insert_once(
        draft(), nonce=nonce, window_start=window_start, events=no_events
    )


def opened(url: str, **settings: str) -> Any:
    configured = Settings(messages_url=url, **settings)  # type: ignore[arg-type]
    return open_message_store(configured, cast(MessageStore, None), migrate=False)


@pytest.fixture
async def default_store(cassandra_url: str) -> AsyncIterator[MessageStore]:
    async with opened(cassandra_url) as (store, _):
        yield store


async def test_by_default_writes_and_claims_run_at_local_quorum_and_local_serial(
    default_store: MessageStore,
) -> None:
    message, created = await send(default_store, "nonce-default")
    assert created
    assert await default_store.get(message.id) == message
    profile = default_store._cql.session.get_execution_profile(EXEC_PROFILE_DEFAULT)  # type: ignore[attr-defined]
    assert profile.consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert profile.serial_consistency_level == ConsistencyLevel.LOCAL_SERIAL


async def test_a_consistency_the_cluster_cannot_meet_makes_writes_unavailable(
    cassandra_url: str,
) -> None:
    async with opened(cassandra_url, cql_consistency="two") as (store, _):
        with pytest.raises(Unavailable):
            await send(store, None)
        with pytest.raises(Unavailable):
            await send(store, "nonce-two")


async def test_the_serial_consistency_setting_reaches_the_driver(cassandra_url: str) -> None:
    async with opened(cassandra_url, cql_serial_consistency="serial") as (store, _):
        _, created = await send(store, "nonce-serial")
        assert created
        profile = store._cql.session.get_execution_profile(EXEC_PROFILE_DEFAULT)
        assert profile.serial_consistency_level == ConsistencyLevel.SERIAL
