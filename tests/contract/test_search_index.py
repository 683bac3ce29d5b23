"""One contract for every SearchIndex adapter: SQLite FTS5 and PostgreSQL full text in the
relational database, and a real OpenSearch node."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gochat.config import async_database_url
from gochat.errors import Unavailable
from gochat.ids import Snowflake, SnowflakeGenerator
from gochat.search import (
    NO_FLAGS,
    TOTAL_CAP,
    Has,
    SearchDocument,
    SearchIndex,
    SearchQuery,
    SearchRemoval,
    Sort,
    Term,
)
from gochat.search.opensearch import OpenSearchIndex
from gochat.search.postgres import PostgresSearchIndex
from gochat.search.sqlite import SqliteSearchIndex
from gochat.storage.sql.engine import create_engines
from tests.support.engines import free_port

ADAPTERS = ["sqlite", "postgresql", "opensearch"]
ids = SnowflakeGenerator(78)
CHANNEL, OTHER_CHANNEL, GUILD = Snowflake(1001), Snowflake(1002), Snowflake(9001)


@pytest.fixture(params=ADAPTERS)
def index_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the adapter under test keeps its documents: a fresh migrated database, or a
    fresh index prefix on the session's OpenSearch node."""
    if request.param == "opensearch":
        return f"{request.getfixturevalue('opensearch_url')}/t{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    path = tmp_path / "search.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
async def index(index_url: str) -> AsyncIterator[SearchIndex]:
    if index_url.startswith("http"):
        found = await OpenSearchIndex.connect(index_url)
        try:
            yield found
        finally:
            await found._client.indices.delete(index=f"{found.alias}-v*")
            await found.close()
        return
    engines = create_engines(async_database_url(index_url))
    try:
        yield (
            PostgresSearchIndex(engines)
            if engines.dialect == "postgresql"
            else SqliteSearchIndex(engines)
        )
    finally:
        await engines.dispose()


def doc(
    content: str,
    *,
    message_id: int | None = None,
    channel: int = CHANNEL,
    guild: int | None = GUILD,
    author: int = 5,
    mentions: tuple[int, ...] = (),
    has: Has = NO_FLAGS,
    pinned: bool = False,
    version: int = 1,
) -> SearchDocument:
    return SearchDocument(
        message_id=Snowflake(message_id or ids.next_id()),
        channel_id=Snowflake(channel),
        guild_id=None if guild is None else Snowflake(guild),
        author_id=Snowflake(author),
        content=content,
        mention_user_ids=tuple(Snowflake(m) for m in mentions),
        has=has,
        pinned=pinned,
        version=version,
    )


async def found(index: SearchIndex, *terms: Term, **filters: object) -> list[int]:
    await index.refresh()
    channels = filters.pop("channel_ids", [CHANNEL, OTHER_CHANNEL])
    result = await index.search(SearchQuery(channel_ids=channels, terms=terms, **filters))  # type: ignore[arg-type]
    return [int(i) for i in result.message_ids]


async def test_words_match_whole_tokens_newest_first(index: SearchIndex) -> None:
    a, b, c = doc("the quick brown fox"), doc("a brown cow"), doc("browning is a verb")
    await index.index([a, b, c])
    assert await found(index, Term("brown")) == [b.message_id, a.message_id]
    assert await found(index, Term("brown"), Term("fox")) == [a.message_id]
    assert await found(index, Term("giraffe")) == []


async def test_case_and_accents_fold_both_ways(index: SearchIndex) -> None:
    a, b = doc("Crème BRÛLÉE tonight"), doc("creme brulee again")
    await index.index([a, b])
    assert await found(index, Term("creme")) == [b.message_id, a.message_id]
    assert await found(index, Term("BRÛLÉE")) == [b.message_id, a.message_id]


async def test_cjk_words_are_found_inside_longer_runs(index: SearchIndex) -> None:
    a, b = doc("昨日東京タワーに行った"), doc("京都はきれい")
    await index.index([a, b])
    assert await found(index, Term("東京")) == [a.message_id]
    assert await found(index, Term("東京タワー")) == [a.message_id]
    assert await found(index, Term("京都")) == [b.message_id]


async def test_prefix_and_phrase_terms(index: SearchIndex) -> None:
    a, b = doc("the quick brown fox"), doc("brown quick dogs")
    await index.index([a, b])
    assert await found(index, Term("bro", prefix=True)) == [b.message_id, a.message_id]
    assert await found(index, Term("quick brown", phrase=True)) == [a.message_id]
    assert await found(index, Term("quick bro", phrase=True, prefix=True)) == [a.message_id]


async def test_only_the_given_channels_are_searched(index: SearchIndex) -> None:
    here, there = doc("secret plans"), doc("secret plans", channel=OTHER_CHANNEL)
    await index.index([here, there])
    assert await found(index, Term("secret"), channel_ids=[CHANNEL]) == [here.message_id]
    assert await found(index, Term("secret"), channel_ids=[OTHER_CHANNEL]) == [there.message_id]


async def test_an_older_version_never_overwrites_a_newer_one(index: SearchIndex) -> None:
    first = doc("original words", version=10)
    await index.index([first])
    edited = doc("edited text", message_id=first.message_id, version=20)
    await index.index([edited])
    stale = doc("original words", message_id=first.message_id, version=15)
    await index.index([stale, stale])
    assert await found(index, Term("original")) == []
    assert await found(index, Term("edited")) == [first.message_id]


async def test_a_removal_stays_when_an_older_write_comes_later(index: SearchIndex) -> None:
    kept, gone = doc("keep this"), doc("drop this", version=5)
    await index.index([kept, gone])
    await index.delete([SearchRemoval(gone.message_id, gone.channel_id, version=6)])
    await index.index([doc("drop this", message_id=gone.message_id, version=5)])
    assert await found(index, Term("this")) == [kept.message_id]
    await index.refresh()
    assert await index.count() == 1


async def test_removing_a_missing_message_blocks_its_older_write(index: SearchIndex) -> None:
    late = doc("arrived late", version=3)
    await index.delete([SearchRemoval(late.message_id, late.channel_id, version=4)])
    await index.index([late])
    assert await found(index, Term("late")) == []


async def test_index_is_idempotent(index: SearchIndex) -> None:
    one = doc("same again", version=7)
    await index.index([one])
    await index.index([one])
    assert await found(index, Term("same")) == [one.message_id]
    await index.refresh()
    assert await index.count() == 1


async def test_channel_and_guild_removal(index: SearchIndex) -> None:
    a = doc("alpha")
    b = doc("alpha", channel=OTHER_CHANNEL)
    c = doc("alpha", channel=1003, guild=9002)
    await index.index([a, b, c])
    await index.delete_channel(CHANNEL)
    assert await found(index, Term("alpha"), channel_ids=[CHANNEL, OTHER_CHANNEL, 1003]) == [
        c.message_id,
        b.message_id,
    ]
    await index.delete_guild(Snowflake(9002))
    assert await found(index, Term("alpha"), channel_ids=[CHANNEL, OTHER_CHANNEL, 1003]) == [
        b.message_id
    ]


async def test_filters_without_words(index: SearchIndex) -> None:
    by_ann = doc("hello", author=1, mentions=(7,), has=Has.LINK)
    by_bob = doc("hello", author=2, has=Has.ATTACHMENT | Has.IMAGE, pinned=True)
    dm = doc("hello", author=2, channel=OTHER_CHANNEL, guild=None, mentions=(8, 7))
    await index.index([by_ann, by_bob, dm])
    assert await found(index, author_ids=[2]) == [dm.message_id, by_bob.message_id]
    assert await found(index, mention_user_ids=[7]) == [dm.message_id, by_ann.message_id]
    assert await found(index, has=Has.IMAGE) == [by_bob.message_id]
    assert await found(index, has=Has.IMAGE | Has.LINK) == []
    assert await found(index, pinned=True) == [by_bob.message_id]
    assert await found(index, pinned=False) == [dm.message_id, by_ann.message_id]
    assert await found(index, min_id=by_ann.message_id, max_id=dm.message_id) == [by_bob.message_id]
    assert await found(index, Term("hello"), author_ids=[1, 2], has=Has.LINK) == [by_ann.message_id]


async def test_pages_and_totals(index: SearchIndex) -> None:
    docs = [doc(f"page word {n}") for n in range(7)]
    await index.index(docs)
    await index.refresh()
    newest = [int(d.message_id) for d in reversed(docs)]
    first = await index.search(SearchQuery(channel_ids=[CHANNEL], terms=[Term("word")], limit=3))
    assert [int(i) for i in first.message_ids] == newest[:3]
    assert first.total == 7
    rest = await index.search(
        SearchQuery(
            channel_ids=[CHANNEL], terms=[Term("word")], limit=10, max_id=first.message_ids[-1]
        )
    )
    assert [int(i) for i in rest.message_ids] == newest[3:]
    ranked = await index.search(
        SearchQuery(
            channel_ids=[CHANNEL], terms=[Term("word")], sort=Sort.RELEVANCE, limit=5, offset=5
        )
    )
    assert len(ranked.message_ids) == 2
    assert ranked.total == 7


async def test_totals_stop_at_the_cap(index: SearchIndex) -> None:
    await index.index([doc("many") for _ in range(TOTAL_CAP + 5)])
    await index.refresh()
    counted = await index.search(SearchQuery(channel_ids=[CHANNEL], terms=[Term("many")], limit=1))
    assert counted.total == TOTAL_CAP
    assert len(counted.message_ids) == 1


async def test_relevance_ranks_the_closer_match_first(index: SearchIndex) -> None:
    weak = doc("a long message that mentions rocket once among many many other plain words")
    strong = doc("rocket rocket rocket")
    await index.index([strong, weak])
    assert await found(index, Term("rocket"), sort=Sort.RELEVANCE) == [
        strong.message_id,
        weak.message_id,
    ]


async def test_no_channels_finds_nothing(index: SearchIndex) -> None:
    await index.index([doc("anything")])
    assert await found(index, Term("anything"), channel_ids=[]) == []


async def test_an_unreachable_opensearch_is_unavailable() -> None:
    dead = await OpenSearchIndex.connect(f"http://127.0.0.1:{free_port()}/gone")
    try:
        with pytest.raises(Unavailable):
            await dead.search(SearchQuery(channel_ids=[CHANNEL], terms=[Term("x")]))
        with pytest.raises(Unavailable):
            await dead.index([doc("x")])
    finally:
        await dead.close()


async def test_a_new_opensearch_mapping_is_built_beside_the_served_one(opensearch_url: str) -> None:
    from opensearchpy import AsyncOpenSearch

    prefix = f"t{uuid.uuid4().hex[:12]}"
    raw = AsyncOpenSearch(hosts=[opensearch_url])
    # An index of an older mapping version serves the alias, with a document in it.
    await raw.indices.create(
        index=f"{prefix}-messages-v0",
        body={"aliases": {f"{prefix}-messages": {"is_write_index": True}}},
    )
    index = await OpenSearchIndex.connect(f"{opensearch_url}/{prefix}")
    try:
        old = doc("served before")
        await index.index([old])
        assert await found(index, Term("served")) == [old.message_id]
        assert await index.begin_rebuild() is True
        rebuilt = doc("copied over")
        await index.index([rebuilt])
        # Searches still go to the old index until the switch.
        assert await found(index, Term("served")) == [old.message_id]
        await index.finish_rebuild()
        assert await found(index, Term("copied")) == [rebuilt.message_id]
        assert await found(index, Term("served")) == []
        assert await index.begin_rebuild() is False
        assert not await raw.indices.exists(index=f"{prefix}-messages-v0")
    finally:
        await raw.indices.delete(index=f"{prefix}-messages-v*")
        await raw.close()
        await index.close()
