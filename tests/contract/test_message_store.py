"""One contract for every MessageStore adapter: SQL on SQLite and PostgreSQL, CQL on a real
Apache Cassandra node (ScyllaDB speaks the same protocol)."""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gochat.bus.codec import seal
from gochat.config import async_database_url
from gochat.domain.events import ReadStateUpdated
from gochat.domain.records import (
    Embed,
    EmbedField,
    EmbedMedia,
    EmbedType,
    Mentions,
    Message,
    MessageFlag,
    MessageType,
    ReadState,
)
from gochat.errors import BadUserInput, Conflict, Unavailable
from gochat.ids import GOCHAT_EPOCH_MS, Snowflake, SnowflakeGenerator
from gochat.storage import MessageStore, OutboxStore
from gochat.storage.cql import CqlSession, parse_url
from gochat.storage.cql.messages import CqlMessageStore
from gochat.storage.sql.engine import create_engines
from gochat.storage.sql.messages import SqlMessageStore
from gochat.storage.sql.outbox import SqlOutboxStore

ADAPTERS = ["sqlite", "postgresql", "cassandra"]
ids = SnowflakeGenerator(77)


def at(days_ago: float, seq: int = 0) -> Snowflake:
    """A snowflake for a moment in the past (to spread messages over time buckets)."""
    ms = int((datetime.now(UTC) - timedelta(days=days_ago)).timestamp() * 1000) - GOCHAT_EPOCH_MS
    return Snowflake((ms << 22) | (77 << 12) | seq)


def no_events(_: Any) -> list[Any]:
    return []


def draft(
    channel_id: int,
    message_id: int | None = None,
    *,
    author: int = 5,
    content: str = "hi",
    mentions: Mentions | None = None,
) -> Message:
    return Message(
        id=Snowflake(message_id or ids.next_id()),
        channel_id=Snowflake(channel_id),
        guild_id=Snowflake(9),
        author_id=Snowflake(author),
        type=MessageType.DEFAULT,
        content=content,
        reference_id=None,
        mentions=mentions or Mentions(),
        pinned=False,
        edited_at=None,
    )


@pytest.fixture(params=ADAPTERS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the adapter under test keeps its data (fresh for SQL, a shared keyspace for CQL)."""
    if request.param == "cassandra":
        return str(request.getfixturevalue("cassandra_url"))
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    path = tmp_path / "store.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[MessageStore]:
    if store_url.startswith("cql://"):
        session = CqlSession(parse_url(store_url))
        await session.connect()
        try:
            yield CqlMessageStore(session)
        finally:
            await session.close()
        return
    engines = create_engines(async_database_url(store_url))
    try:
        yield SqlMessageStore(engines)
    finally:
        await engines.dispose()


def window() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=10)


async def test_insert_then_get(store: MessageStore) -> None:
    channel = ids.next_id()
    message = draft(channel, content="hello", mentions=Mentions(user_ids=(Snowflake(6),)))
    stored, created = await store.insert_once(
        message, nonce=None, window_start=window(), events=no_events
    )
    assert created and stored == message
    assert await store.get(message.id) == message
    assert await store.get(ids.next_id()) is None


async def test_same_nonce_returns_the_first_message(store: MessageStore) -> None:
    channel = ids.next_id()
    first, created = await store.insert_once(
        draft(channel), nonce="n1", window_start=window(), events=no_events
    )
    again, created_again = await store.insert_once(
        draft(channel, content="x"), nonce="n1", window_start=window(), events=no_events
    )
    assert created and not created_again and again == first
    other_author, created_other = await store.insert_once(
        draft(channel, author=6), nonce="n1", window_start=window(), events=no_events
    )
    assert created_other and other_author.id != first.id


async def test_concurrent_sends_with_one_nonce_store_one_message(store: MessageStore) -> None:
    channel = ids.next_id()
    results = await asyncio.gather(
        *(
            store.insert_once(draft(channel), nonce="race", window_start=window(), events=no_events)
            for _ in range(5)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({m.id for m, _ in results}) == 1
    assert len(await store.page(channel, before=None, after=None, limit=10, newest_first=True)) == 1


async def test_many_concurrent_sends_are_each_stored_once_with_their_events(
    store: MessageStore,
) -> None:
    # SQL stores commit concurrent sends together: each must still get its own outcome,
    # its own events exactly once, and retries by nonce must find the first message.
    channel = ids.next_id()
    calls: list[Snowflake] = []

    def events(message: Message) -> list[Any]:
        calls.append(message.id)
        return []

    nonces = [None if n % 3 == 0 else f"n{n % 7}" for n in range(40)]
    mentioned = Mentions(user_ids=(Snowflake(6),), role_ids=(Snowflake(8),), everyone=True)
    results = await asyncio.gather(
        *(
            store.insert_once(
                draft(channel, content=f"m{n}", mentions=mentioned if n % 5 == 0 else None),
                nonce=nonce,
                window_start=window(),
                events=events,
            )
            for n, nonce in enumerate(nonces)
        )
    )
    created = [m for m, was_created in results if was_created]
    assert len(created) == nonces.count(None) + len({n for n in nonces if n is not None})
    # A store may ask for the events of a send that turns out to be a retry (and then drops
    # them); it asks once per send at most, and for every message it created.
    assert set(calls) >= {m.id for m in created}
    assert len(calls) == len(set(calls))
    for nonce in {n for n in nonces if n is not None}:
        same = {results[i][0].id for i, n in enumerate(nonces) if n == nonce}
        assert len(same) == 1
    stored = await store.page(channel, before=None, after=None, limit=100, newest_first=False)
    assert sorted(m.id for m in stored) == sorted(m.id for m in created)
    assert {m.id: m for m in stored} == {m.id: m for m in created}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_nonce_older_than_the_window_makes_a_new_message(store: MessageStore) -> None:
    # (Cassandra expires nonces by TTL from their write, so it cannot be shown a window that
    # already passed; the SQL stores compare the nonce's time with the window's start.)
    channel = ids.next_id()
    first, _ = await store.insert_once(
        draft(channel), nonce="old", window_start=window(), events=no_events
    )
    later = datetime.now(UTC) + timedelta(seconds=1)
    second, created = await store.insert_once(
        draft(channel, content="again"), nonce="old", window_start=later, events=no_events
    )
    assert created and second.id != first.id
    third, created_again = await store.insert_once(
        draft(channel, content="once more"), nonce="old", window_start=window(), events=no_events
    )
    assert not created_again and third == second
    stored = await store.page(channel, before=None, after=None, limit=10, newest_first=False)
    assert [m.id for m in stored] == [first.id, second.id]


async def test_a_nonce_whose_message_was_deleted_is_a_conflict(store: MessageStore) -> None:
    channel = ids.next_id()
    first, _ = await store.insert_once(
        draft(channel), nonce="gone", window_start=window(), events=no_events
    )
    await store.delete(channel, [first.id], events=no_events)
    with pytest.raises(Conflict):
        await store.insert_once(
            draft(channel), nonce="gone", window_start=window(), events=no_events
        )
    assert await store.page(channel, before=None, after=None, limit=10, newest_first=True) == []


@pytest.mark.parametrize(
    ("store_url", "bad_content"),
    # A lone surrogate no driver can encode; NUL, which PostgreSQL text refuses (SQLite keeps it).
    [("sqlite", "a\ud800b"), ("postgresql", "a\ud800b"), ("postgresql", "a\x00b")],
    indirect=["store_url"],
)
async def test_a_send_the_database_refuses_fails_alone_among_concurrent_sends(
    store: MessageStore, bad_content: str
) -> None:
    # The SQL stores commit concurrent sends together; one the database refuses must not fail
    # the others in its batch. (The API refuses such text before it gets here; this is the
    # store's own guarantee. The CQL store writes each send in its own batch.)
    good_channel, bad_channel = ids.next_id(), ids.next_id()
    sends = [draft(good_channel, content=f"m{n}", author=5 + n % 2) for n in range(12)]
    bad = draft(bad_channel, content=bad_content)
    sends.insert(5, bad)
    results = await asyncio.gather(
        *(
            store.insert_once(m, nonce=f"n{i}", window_start=window(), events=no_events)
            for i, m in enumerate(sends)
        ),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(results[5], BadUserInput), results
    stored = await store.page(good_channel, before=None, after=None, limit=50, newest_first=False)
    assert sorted(m.id for m in stored) == sorted(m.id for m in sends if m is not bad)
    assert await store.page(bad_channel, before=None, after=None, limit=5, newest_first=True) == []


async def test_pages_walk_across_time_buckets_in_both_directions(store: MessageStore) -> None:
    channel = at(60)
    sent = [draft(channel, at(days, n)) for n, days in enumerate([50, 35, 21, 20, 3, 0.5])]
    for m in sent:
        await store.insert_once(m, nonce=None, window_start=window(), events=no_events)
    newest = await store.page(channel, before=None, after=None, limit=4, newest_first=True)
    assert [m.id for m in newest] == [m.id for m in reversed(sent)][:4]
    older = await store.page(channel, before=newest[-1].id, after=None, limit=4, newest_first=True)
    assert [m.id for m in older] == [sent[1].id, sent[0].id]
    forward = await store.page(channel, before=None, after=sent[0].id, limit=3, newest_first=False)
    assert [m.id for m in forward] == [m.id for m in sent[1:4]]
    between = await store.page(
        channel, before=sent[4].id, after=sent[1].id, limit=10, newest_first=True
    )
    assert [m.id for m in between] == [sent[3].id, sent[2].id]
    assert (
        await store.page(ids.next_id(), before=None, after=None, limit=5, newest_first=True) == []
    )


async def test_edit_and_delete(store: MessageStore) -> None:
    channel = ids.next_id()
    message, _ = await store.insert_once(
        draft(channel), nonce=None, window_start=window(), events=no_events
    )
    now = datetime.now(UTC).replace(microsecond=0)
    edited = await store.edit(
        channel,
        message.id,
        content="changed",
        mentions=Mentions(),
        embeds=None,
        flags=None,
        edited_at=now,
        events=no_events,
    )
    assert edited is not None and edited.content == "changed" and edited.edited_at == now
    assert (await store.get(message.id)) == edited
    assert (
        await store.edit(
            channel,
            ids.next_id(),
            content="x",
            mentions=Mentions(),
            embeds=None,
            flags=None,
            edited_at=now,
            events=no_events,
        )
        is None
    )
    seen: list[Any] = []
    deleted = await store.delete(
        channel, [message.id, ids.next_id()], events=lambda ms: seen.append(ms) or []
    )
    assert [m.id for m in deleted] == [message.id] and seen == [deleted]
    assert await store.get(message.id) is None
    assert await store.page(channel, before=None, after=None, limit=5, newest_first=True) == []


async def test_reactions_counts_and_reactors(store: MessageStore) -> None:
    channel = ids.next_id()
    message, _ = await store.insert_once(
        draft(channel), nonce=None, window_start=window(), events=no_events
    )
    now = datetime.now(UTC)
    assert await store.add_reaction(
        channel, message.id, "u:👍", Snowflake(1), now=now, events=no_events
    )
    assert not await store.add_reaction(
        channel, message.id, "u:👍", Snowflake(1), now=now, events=no_events
    )
    await store.add_reaction(
        channel, message.id, "u:👍", Snowflake(2), now=now + timedelta(seconds=1), events=no_events
    )
    await store.add_reaction(
        channel, message.id, "c:55", Snowflake(2), now=now + timedelta(seconds=2), events=no_events
    )
    counts = await store.reaction_counts(channel, [message.id], Snowflake(1))
    assert [(c.emoji, c.count, c.me) for c in counts[message.id]] == [
        ("u:👍", 2, True),
        ("c:55", 1, False),
    ]
    assert await store.reactors(channel, message.id, "u:👍", after_user_id=None, limit=1) == [1]
    assert await store.reactors(
        channel, message.id, "u:👍", after_user_id=Snowflake(1), limit=5
    ) == [2]
    assert await store.remove_reaction(channel, message.id, "u:👍", Snowflake(1), events=no_events)
    assert not await store.remove_reaction(
        channel, message.id, "u:👍", Snowflake(1), events=no_events
    )


async def test_pins(store: MessageStore) -> None:
    channel = ids.next_id()
    a, _ = await store.insert_once(
        draft(channel), nonce=None, window_start=window(), events=no_events
    )
    b, _ = await store.insert_once(
        draft(channel), nonce=None, window_start=window(), events=no_events
    )
    for m in (a, b):
        pinned = await store.set_pinned(channel, m.id, pinned=True, events=no_events)
        assert pinned is not None and pinned.pinned
    assert [m.id for m in await store.pins(channel)] == [b.id, a.id]
    await store.set_pinned(channel, a.id, pinned=False, events=no_events)
    assert [m.id for m in await store.pins(channel)] == [b.id]
    assert await store.set_pinned(channel, ids.next_id(), pinned=True, events=no_events) is None


async def test_read_marker_only_moves_forward_and_counts(store: MessageStore) -> None:
    channel = ids.next_id()
    sent = [
        (
            await store.insert_once(
                draft(channel), nonce=None, window_start=window(), events=no_events
            )
        )[0]
        for _ in range(5)
    ]
    user = Snowflake(ids.next_id())
    assert (await store.ack(user, channel, sent[2].id, events=no_events)).last_read_id == sent[2].id
    assert (await store.ack(user, channel, sent[0].id, events=no_events)).last_read_id == sent[2].id
    assert [s.last_read_id for s in await store.read_states(user)] == [sent[2].id]
    assert await store.count_after(channel, sent[2].id, cap=100) == 2
    assert await store.count_after(channel, None, cap=3) == 3


async def test_a_read_marker_announces_only_its_moves_under_concurrent_acks(
    store: MessageStore,
) -> None:
    """The send path acks every message for its author, so one author's concurrent sends ack
    concurrently and out of order: the marker ends at the newest, and only a call that moved
    it writes an event."""
    channel = ids.next_id()
    user = Snowflake(ids.next_id())
    message_ids = [Snowflake(ids.next_id()) for _ in range(12)]
    moves: list[int] = []

    def record(state: Any) -> list[Any]:
        moves.append(state.last_read_id)
        return []

    await store.ack(user, channel, message_ids[5], events=record)
    assert moves == [message_ids[5]]
    moves.clear()
    # Behind the marker, all at once: nothing moves, nothing is announced.
    behind = await asyncio.gather(
        *(store.ack(user, channel, m, events=record) for m in message_ids[:5])
    )
    assert {s.last_read_id for s in behind} == {message_ids[5]}
    assert moves == []
    # Ahead of it, in shuffled order and all at once: it ends at the newest.
    ahead = message_ids[6:]
    random.Random(3).shuffle(ahead)
    await asyncio.gather(*(store.ack(user, channel, m, events=record) for m in ahead))
    assert [s.last_read_id for s in await store.read_states(user)] == [message_ids[-1]]
    assert message_ids[-1] in moves
    assert len(moves) == len(set(moves)) <= len(ahead)


async def test_message_counts_are_read_for_many_channels_at_once(store: MessageStore) -> None:
    busy, quiet, empty = ids.next_id(), ids.next_id(), ids.next_id()
    for channel, n in ((busy, 4), (quiet, 1)):
        for _ in range(n):
            await store.insert_once(
                draft(channel), nonce=None, window_start=window(), events=no_events
            )
    assert await store.message_counts([busy, quiet, empty], cap=100) == {busy: 4, quiet: 1}
    assert await store.message_counts([busy, quiet], cap=3) == {busy: 3, quiet: 1}
    assert await store.message_counts([], cap=3) == {}


async def test_mentions_are_found_and_counted(store: MessageStore) -> None:
    channel = ids.next_id()
    user, role = Snowflake(ids.next_id()), Snowflake(ids.next_id())
    direct, _ = await store.insert_once(
        draft(channel, mentions=Mentions(user_ids=(user,))),
        nonce=None,
        window_start=window(),
        events=no_events,
    )
    by_role, _ = await store.insert_once(
        draft(channel, mentions=Mentions(role_ids=(role,))),
        nonce=None,
        window_start=window(),
        events=no_events,
    )
    await store.insert_once(
        draft(channel, author=user, mentions=Mentions(role_ids=(role,))),
        nonce=None,
        window_start=window(),
        events=no_events,
    )
    assert [
        m.message_id for m in await store.mentions_of(user, before_message_id=None, limit=10)
    ] == [direct.id]
    assert await store.count_mentions_after(user, channel, None, role_ids=[role], cap=100) == 2
    assert await store.count_mentions_after(user, channel, direct.id, role_ids=[role], cap=100) == 1
    assert by_role.id


async def test_last_message_ids_follow_new_messages(store: MessageStore) -> None:
    first, second = ids.next_id(), ids.next_id()
    assert await store.last_message_ids([first, second]) == {}
    await store.insert_once(draft(first), nonce=None, window_start=window(), events=no_events)
    newest, _ = await store.insert_once(
        draft(first), nonce=None, window_start=window(), events=no_events
    )
    assert await store.last_message_ids([first, second]) == {first: newest.id}


class _Crash(Exception):
    """Stands for a process that dies between a nonce's claim and the message's batch."""


def _crash() -> None:
    raise _Crash


@pytest.mark.parametrize("store_url", ["cassandra"], indirect=True)
async def test_concurrent_retries_of_a_send_cut_off_after_its_claim_store_it_once(
    store_url: str,
) -> None:
    # (The SQL stores claim the nonce and write the message in one transaction: no such cut.)
    session = CqlSession(parse_url(store_url))
    await session.connect()
    try:
        cut_off = CqlMessageStore(session, after_claim=_crash)
        store = CqlMessageStore(session)
        channel = ids.next_id()
        first = draft(channel, content="the first attempt")
        with pytest.raises(_Crash):
            await cut_off.insert_once(first, nonce="cut", window_start=window(), events=no_events)
        assert await store.get(first.id) is None

        # Retries (each with its own draft, as each request makes one) are told to wait while
        # the claim's lease lasts; once it ran out, exactly one of them writes the claimed
        # message, with its events, and every other one gets that message back.
        calls: list[Snowflake] = []

        def events(message: Message) -> list[Any]:
            calls.append(message.id)
            return []

        outcomes: list[tuple[Message, bool]] = []
        async with asyncio.timeout(90):
            while not outcomes:
                results = await asyncio.gather(
                    *(
                        store.insert_once(
                            draft(channel, content=f"retry {n}"),
                            nonce="cut",
                            window_start=window(),
                            events=events,
                        )
                        for n in range(5)
                    ),
                    return_exceptions=True,
                )
                for result in results:
                    if isinstance(result, BaseException):
                        assert isinstance(result, Unavailable), result
                    else:
                        outcomes.append(result)
        assert {m for m, _ in outcomes} == {first}
        assert sum(created for _, created in outcomes) == 1
        assert calls == [first.id]
        stored = await store.page(channel, before=None, after=None, limit=10, newest_first=True)
        assert stored == [first]
    finally:
        await session.close()


async def test_embeds_flags_and_generated_embeds_round_trip(store: MessageStore) -> None:
    channel = ids.next_id()
    manual = (
        Embed(
            title="card",
            color=0x123456,
            timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            fields=(EmbedField(name="a", value="b", inline=True),),
        ),
    )
    message = replace(draft(channel, content="see https://x.example"), embeds=manual)
    stored, created = await store.insert_once(
        message, nonce="n-embeds", window_start=window(), events=no_events
    )
    assert created
    assert await store.get(message.id) == stored == message

    generated = (
        Embed(
            type=EmbedType.LINK,
            url="https://x.example",
            title="X",
            image=EmbedMedia(url="https://x.example/i.png", width=10, height=20),
        ),
    )
    seen: list[Any] = []
    changed = await store.set_generated_embeds(
        channel,
        message.id,
        generated,
        content=message.content,
        version="v1",
        events=lambda m: seen.append(m) or [],
    )
    assert changed is not None and changed.generated_embeds == generated
    assert changed.generated_for == "v1" and seen == [changed]
    assert await store.get(message.id) == changed
    # A replay for the same version, and one for a content the message no longer has, store
    # nothing and announce nothing.
    assert (
        await store.set_generated_embeds(
            channel, message.id, generated, content=message.content, version="v1", events=no_events
        )
        is None
    )
    assert (
        await store.set_generated_embeds(
            channel, message.id, (), content="old content", version="v0", events=no_events
        )
        is None
    )
    flagged = await store.edit(
        channel,
        message.id,
        content=None,
        mentions=None,
        embeds=None,
        flags=MessageFlag.SUPPRESS_EMBEDS,
        edited_at=None,
        events=no_events,
    )
    assert flagged is not None and flagged.flags == MessageFlag.SUPPRESS_EMBEDS
    assert flagged.generated_embeds == generated and flagged.edited_at is None
    now = datetime.now(UTC).replace(microsecond=0)
    rewritten = await store.edit(
        channel,
        message.id,
        content="no links now",
        mentions=Mentions(),
        embeds=(),
        flags=None,
        edited_at=now,
        events=no_events,
    )
    assert rewritten is not None
    assert (rewritten.embeds, rewritten.generated_embeds, rewritten.generated_for) == ((), (), None)
    assert rewritten.flags == MessageFlag.SUPPRESS_EMBEDS
    assert await store.get(message.id) == rewritten


@pytest.fixture
async def outbox(store: MessageStore, store_url: str) -> AsyncIterator[OutboxStore]:
    if isinstance(store, CqlMessageStore):
        yield store.outbox
        return
    engines = create_engines(async_database_url(store_url))
    try:
        yield SqlOutboxStore(engines)
    finally:
        await engines.dispose()


async def test_a_foreseen_ack_writes_its_event_only_when_it_moves_the_marker(
    store: MessageStore, outbox: OutboxStore
) -> None:
    """An author's own sends ack each message with its event made up front (on PostgreSQL
    in the statement of the sends that follow): concurrent, out of order and mixed with
    sends, each says whether it moved the marker, and exactly the moves have their event."""
    channel = ids.next_id()
    user = Snowflake(ids.next_id())
    message_ids = [Snowflake(ids.next_id()) for _ in range(12)]
    made = {
        m: seal(
            ReadStateUpdated(event_id=ids.next_id(), state=ReadState(user, channel, m)),
            f"gochat.user.{user}",
        )
        for m in message_ids
    }

    async def ack(m: Snowflake) -> bool:
        return await store.ack_foreseen(ReadState(user, channel, m), made[m])

    async def send() -> None:
        await store.insert_once(draft(channel), nonce=None, window_start=window(), events=no_events)

    assert await ack(message_ids[5])
    behind = await asyncio.gather(*(ack(m) for m in message_ids[:5]), *(send() for _ in range(3)))
    assert behind[:5] == [False] * 5
    ahead = message_ids[6:]
    random.Random(5).shuffle(ahead)
    moved_ahead = await asyncio.gather(*(ack(m) for m in ahead), *(send() for _ in range(3)))
    moved = {message_ids[5]} | {m for m, did in zip(ahead, moved_ahead, strict=False) if did}
    assert message_ids[-1] in moved
    assert [s.last_read_id for s in await store.read_states(user)] == [message_ids[-1]]
    written = {
        e.event_id
        for e in await outbox.pending(
            older_than=datetime.now(UTC) + timedelta(hours=1), limit=10_000
        )
    }
    assert {m for m in message_ids if made[m][0].event_id in written} == moved
