"""The search indexer handler, fed events directly, on the relational database's own index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gochat.config import async_database_url
from gochat.domain.events import (
    ChannelDeleted,
    GuildDeleted,
    MessageCreated,
    MessagePinned,
    MessagesDeleted,
    MessageUpdated,
    ThreadDeleted,
)
from gochat.domain.records import Channel, ChannelType, Mentions, Message, MessageType
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.search import Has, SearchIndex, SearchQuery, Term
from gochat.search.postgres import PostgresSearchIndex
from gochat.search.sqlite import SqliteSearchIndex
from gochat.storage.sql import SqlRelationalStore
from gochat.workers.indexer import SearchIndexer

ids = SnowflakeGenerator(79)
GUILD, CHANNEL = Snowflake(501), Snowflake(601)


@pytest.fixture
async def index(database_url: str) -> AsyncIterator[tuple[SearchIndex, SearchIndexer]]:
    store = SqlRelationalStore.from_url(async_database_url(database_url))
    found: SearchIndex = (
        PostgresSearchIndex(store.engines)
        if store.engines.dialect == "postgresql"
        else SqliteSearchIndex(store.engines)
    )
    try:
        yield found, SearchIndexer(found, store.files.attachments_of)
    finally:
        await store.close()


def message(
    content: str, *, channel: int = CHANNEL, kind: MessageType = MessageType.DEFAULT
) -> Message:
    return Message(
        id=ids.next_id(),
        channel_id=Snowflake(channel),
        guild_id=GUILD,
        author_id=Snowflake(7),
        type=kind,
        content=content,
        reference_id=None,
        mentions=Mentions(user_ids=(Snowflake(8),)),
        pinned=False,
        edited_at=None,
    )


async def hits(index: SearchIndex, *words: str, **filters: object) -> list[int]:
    result = await index.search(
        SearchQuery(
            channel_ids=[CHANNEL, Snowflake(602)], terms=[Term(w) for w in words], **filters
        )  # type: ignore[arg-type]
    )
    return [int(i) for i in result.message_ids]


async def test_created_edited_pinned_and_deleted_messages_follow_their_events(
    index: tuple[SearchIndex, SearchIndexer],
) -> None:
    search, indexer = index
    sent = message("see https://example.com first")
    await indexer.handle([MessageCreated(event_id=ids.next_id(), message=sent)])
    assert await hits(search, "first") == [sent.id]
    assert await hits(search, has=Has.LINK) == [sent.id]
    assert await hits(search, mention_user_ids=[8]) == [sent.id]

    edited = replace(sent, content="second words", edited_at=datetime.now(UTC))
    await indexer.handle([MessageUpdated(event_id=ids.next_id(), message=edited)])
    assert await hits(search, "first") == []
    assert await hits(search, "second") == [sent.id]

    await indexer.handle(
        [MessagePinned(event_id=ids.next_id(), message=replace(edited, pinned=True))]
    )
    assert await hits(search, pinned=True) == [sent.id]

    await indexer.handle(
        [
            MessagesDeleted(
                event_id=ids.next_id(), channel_id=CHANNEL, guild_id=GUILD, message_ids=(sent.id,)
            )
        ]
    )
    assert await hits(search, "second") == []
    assert await search.count() == 0


async def test_events_twice_or_out_of_order_keep_the_newest_state(
    index: tuple[SearchIndex, SearchIndexer],
) -> None:
    search, indexer = index
    sent = message("old text")
    created = MessageCreated(event_id=ids.next_id(), message=sent)
    updated = MessageUpdated(event_id=ids.next_id(), message=replace(sent, content="new text"))
    deleted_other = message("gone soon")
    created_other = MessageCreated(event_id=ids.next_id(), message=deleted_other)
    removal = MessagesDeleted(
        event_id=ids.next_id(), channel_id=CHANNEL, guild_id=GUILD, message_ids=(deleted_other.id,)
    )
    await indexer.handle([updated, removal])
    await indexer.handle([created, created_other, updated, created])
    assert await hits(search, "text") == [sent.id]
    assert await hits(search, "new") == [sent.id]
    assert await hits(search, "old") == []
    assert await hits(search, "gone") == []


async def test_system_messages_are_not_indexed(index: tuple[SearchIndex, SearchIndexer]) -> None:
    search, indexer = index
    joined = message("", kind=MessageType.MEMBER_JOINED)
    await indexer.handle([MessageCreated(event_id=ids.next_id(), message=joined)])
    assert await search.count() == 0


async def test_channel_and_guild_deletion_remove_their_documents(
    index: tuple[SearchIndex, SearchIndexer],
) -> None:
    search, indexer = index
    here, there = message("alpha"), message("alpha", channel=602)
    await indexer.handle([MessageCreated(event_id=ids.next_id(), message=m) for m in (here, there)])
    channel = Channel(
        id=CHANNEL,
        guild_id=GUILD,
        type=ChannelType.TEXT,
        name="general",
        topic="",
        parent_id=None,
        position=0,
        private=False,
        voice_region=None,
        created_at=datetime.now(UTC),
    )
    late = message("alpha late")
    # A late write of the deleted channel's message in the same batch loses to the deletion.
    await indexer.handle(
        [
            ChannelDeleted(event_id=ids.next_id(), channel=channel),
            MessageCreated(event_id=ids.next_id(), message=late),
        ]
    )
    assert await hits(search, "alpha") == [there.id]
    await indexer.handle([GuildDeleted(event_id=ids.next_id(), guild_id=GUILD)])
    assert await search.count() == 0


async def test_a_deleted_threads_documents_are_removed(
    index: tuple[SearchIndex, SearchIndexer],
) -> None:
    search, indexer = index
    in_thread, elsewhere = message("beta", channel=602), message("beta")
    await indexer.handle(
        [MessageCreated(event_id=ids.next_id(), message=m) for m in (in_thread, elsewhere)]
    )
    assert sorted(await hits(search, "beta")) == sorted([in_thread.id, elsewhere.id])
    thread = Channel(
        id=Snowflake(602),
        guild_id=GUILD,
        type=ChannelType.THREAD,
        name="talk",
        topic="",
        parent_id=CHANNEL,
        position=0,
        private=False,
        voice_region=None,
        created_at=datetime.now(UTC),
    )
    await indexer.handle([ThreadDeleted(event_id=ids.next_id(), thread=thread)])
    assert await hits(search, "beta") == [elsewhere.id]
