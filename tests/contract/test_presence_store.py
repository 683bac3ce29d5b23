"""PresenceStore adapters: in-process, Redis, Redis Cluster, and Redis with the in-process
fallback, with the same aggregation and expiry rules."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.crc import key_slot

from gochat.domain.records import Presence, PresenceStatus
from gochat.ids import Snowflake
from gochat.presence import PresenceStore
from gochat.presence.fallback import FallbackPresenceStore
from gochat.presence.memory import MemoryPresenceStore
from gochat.presence.redis import RedisPresenceStore
from gochat.redis_client import redis_client
from tests.support.engines import RedisServer, free_port, redis_server

pytestmark = pytest.mark.timeout(60)

ONLINE, IDLE, DND = PresenceStatus.ONLINE, PresenceStatus.IDLE, PresenceStatus.DND
INVISIBLE, OFFLINE = PresenceStatus.INVISIBLE, PresenceStatus.OFFLINE
LONG = 60.0


def fresh_id() -> Snowflake:
    return Snowflake(secrets.randbits(62))


@pytest.fixture(params=["memory", "redis", "redis-cluster", "fallback"])
async def store(
    request: pytest.FixtureRequest, shared_redis_client: Callable[[str], Redis | RedisCluster]
) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield MemoryPresenceStore()
        return
    client = shared_redis_client("redis-cluster" if request.param == "redis-cluster" else "redis")
    adapter: PresenceStore = RedisPresenceStore(
        client, prefix=f"test:{secrets.token_hex(6)}:presence:"
    )
    if request.param == "fallback":
        adapter = FallbackPresenceStore(adapter, MemoryPresenceStore())
    try:
        yield adapter
    finally:
        await adapter.close()
        await client.aclose()


async def report(
    store: PresenceStore,
    user_id: Snowflake,
    status: PresenceStatus,
    *,
    custom: str | None = None,
    ttl: float = LONG,
    session_id: Snowflake | None = None,
) -> Snowflake:
    session_id = session_id or fresh_id()
    await store.set(user_id, session_id, status=status, custom_status=custom, ttl_seconds=ttl)
    return session_id


async def shown(store: PresenceStore, user_id: Snowflake) -> Presence:
    return (await store.get_many([user_id]))[user_id]


async def test_a_user_without_sessions_is_offline(store: PresenceStore) -> None:
    user = fresh_id()
    assert await store.get_many([user]) == {user: Presence(user_id=user, status=OFFLINE)}
    assert await store.get_many([]) == {}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([ONLINE], ONLINE),
        ([IDLE], IDLE),
        ([DND], DND),
        ([IDLE, ONLINE], ONLINE),
        ([ONLINE, IDLE], ONLINE),
        ([IDLE, DND, ONLINE], DND),
        ([INVISIBLE], OFFLINE),
        ([ONLINE, INVISIBLE], OFFLINE),
        ([DND, INVISIBLE, IDLE], OFFLINE),
    ],
)
async def test_sessions_combine_dnd_over_online_over_idle_and_invisible_hides(
    store: PresenceStore, statuses: list[PresenceStatus], expected: PresenceStatus
) -> None:
    user = fresh_id()
    for status in statuses:
        await report(store, user, status)
    assert (await shown(store, user)).status is expected


async def test_get_many_answers_for_every_user_at_once(store: PresenceStore) -> None:
    busy, away, gone = fresh_id(), fresh_id(), fresh_id()
    await report(store, busy, DND, custom="focus")
    await report(store, away, IDLE)
    assert await store.get_many([busy, away, gone]) == {
        busy: Presence(user_id=busy, status=DND, custom_status="focus"),
        away: Presence(user_id=away, status=IDLE),
        gone: Presence(user_id=gone, status=OFFLINE),
    }


async def test_the_newest_custom_status_is_shown_and_invisible_shows_none(
    store: PresenceStore,
) -> None:
    user = fresh_id()
    await report(store, user, ONLINE, custom="first")
    await asyncio.sleep(0.01)
    await report(store, user, IDLE, custom="second")
    assert await shown(store, user) == Presence(user_id=user, status=ONLINE, custom_status="second")
    await report(store, user, INVISIBLE, custom="secret")
    assert await shown(store, user) == Presence(user_id=user, status=OFFLINE)


async def test_a_session_report_replaces_its_earlier_one(store: PresenceStore) -> None:
    user = fresh_id()
    session = await report(store, user, DND)
    await report(store, user, IDLE, session_id=session)
    assert (await shown(store, user)).status is IDLE
    assert [s.session_id for s in await store.list_sessions(user)] == [session]


async def test_owner_sees_every_live_session_including_invisible(store: PresenceStore) -> None:
    user = fresh_id()
    first = await report(store, user, INVISIBLE, custom="hidden")
    second = await report(store, user, ONLINE)
    sessions = await store.list_sessions(user)
    assert [(s.session_id, s.status, s.custom_status) for s in sessions] == sorted(
        [(first, INVISIBLE, "hidden"), (second, ONLINE, None)]
    )


async def test_expired_sessions_vanish(store: PresenceStore) -> None:
    user = fresh_id()
    await report(store, user, DND, ttl=0.3)
    await report(store, user, IDLE, ttl=LONG)
    assert (await shown(store, user)).status is DND
    await asyncio.sleep(0.45)
    assert (await shown(store, user)).status is IDLE
    assert [s.status for s in await store.list_sessions(user)] == [IDLE]


async def test_refresh_keeps_a_live_session_and_refuses_an_expired_one(
    store: PresenceStore,
) -> None:
    user = fresh_id()
    kept = await report(store, user, ONLINE, ttl=0.4)
    lost = await report(store, user, DND, ttl=0.2)
    await asyncio.sleep(0.25)
    assert await store.refresh(user, kept, ttl_seconds=LONG) is True
    assert await store.refresh(user, lost, ttl_seconds=LONG) is False
    await asyncio.sleep(0.3)
    assert (await shown(store, user)).status is ONLINE


async def test_remove_forgets_the_session_at_once(store: PresenceStore) -> None:
    user = fresh_id()
    session = await report(store, user, ONLINE)
    await store.remove(user, session)
    await store.remove(user, session)  # twice is harmless
    assert (await shown(store, user)).status is OFFLINE
    assert await store.refresh(user, session, ttl_seconds=LONG) is False


async def test_offline_cannot_be_reported(store: PresenceStore) -> None:
    with pytest.raises(ValueError, match="offline"):
        await report(store, fresh_id(), OFFLINE)
    user = fresh_id()
    session = await report(store, user, ONLINE)
    with pytest.raises(ValueError, match="offline"):
        await store.update(user, session, status=OFFLINE, custom_status=None)
    assert (await shown(store, user)).status is ONLINE


async def test_update_changes_the_report_and_keeps_the_expiry(store: PresenceStore) -> None:
    user = fresh_id()
    lingering = await report(store, user, ONLINE, custom="first", ttl=0.4)
    await asyncio.sleep(0.01)
    steady = await report(store, user, IDLE, custom="second")
    await asyncio.sleep(0.01)  # Redis times reports to the millisecond
    assert await store.update(user, lingering, status=DND, custom_status="third") is True
    # The updated report counts as the newest.
    assert await shown(store, user) == Presence(user_id=user, status=DND, custom_status="third")
    assert [(s.session_id, s.status, s.custom_status) for s in await store.list_sessions(user)] == (
        sorted([(lingering, DND, "third"), (steady, IDLE, "second")])
    )
    await asyncio.sleep(0.5)  # past the expiry the session had before the update
    assert await shown(store, user) == Presence(user_id=user, status=IDLE, custom_status="second")
    assert user in await lapsed(store)


async def test_update_of_a_session_that_is_gone_creates_nothing(store: PresenceStore) -> None:
    user, stranger = fresh_id(), fresh_id()
    assert await store.update(stranger, fresh_id(), status=DND, custom_status="x") is False
    assert await store.list_sessions(stranger) == []
    assert (await shown(store, stranger)).status is OFFLINE
    expired = await report(store, user, DND, ttl=0.2)
    removed = await report(store, user, IDLE)
    await store.remove(user, removed)
    await asyncio.sleep(0.3)
    assert await store.update(user, expired, status=ONLINE, custom_status=None) is False
    assert await store.update(user, removed, status=ONLINE, custom_status=None) is False
    assert await store.list_sessions(user) == []
    assert (await shown(store, user)).status is OFFLINE
    assert await store.refresh(user, expired, ttl_seconds=LONG) is False


async def test_every_session_expired_leaves_no_redis_key(redis_engine: RedisServer) -> None:
    client = Redis.from_url(redis_engine.url)
    prefix = f"test:{secrets.token_hex(6)}:presence:"
    store = RedisPresenceStore(client, prefix=prefix)
    user = fresh_id()
    try:
        key = store.user_key(user)
        await report(store, user, ONLINE, ttl=0.2)
        assert await client.exists(key) == 1
        await asyncio.sleep(0.3)
        assert await client.exists(key) == 0
        assert await store.update(user, fresh_id(), status=DND, custom_status=None) is False
        assert await client.exists(key) == 0
    finally:
        await client.aclose()


class RecordingRedis(Redis):
    """The real client, remembering the keys of every script call it sends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script_calls: list[tuple[str, list[str]]] = []

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() in {"EVALSHA", "EVAL"}:
            count = int(args[2])
            self.script_calls.append((str(args[1]), [str(k) for k in args[3 : 3 + count]]))
        return await super().execute_command(*args, **options)


async def test_every_redis_script_call_touches_keys_of_one_cluster_slot(
    redis_engine: RedisServer,
) -> None:
    # Redis Cluster runs a script only when all its keys hash to one slot.
    client = RecordingRedis.from_url(redis_engine.url)
    store = RedisPresenceStore(client, prefix=f"test:{secrets.token_hex(6)}:presence:")
    users = [fresh_id() for _ in range(40)]
    try:
        for user in users:
            kept = await report(store, user, ONLINE)
            await report(store, user, DND, ttl=0.2)
            assert await store.refresh(user, kept, ttl_seconds=LONG)
            assert await store.update(user, kept, status=IDLE, custom_status="x")
            await store.remove(user, await report(store, user, IDLE))
        await asyncio.sleep(0.3)
        assert sorted(await lapsed(store)) == sorted(users)
        shas = {sha for sha, _ in client.script_calls}
        assert len(shas) == 5  # set, refresh, update, remove, claim
        slots = set()
        for sha, keys in client.script_calls:
            assert len({key_slot(k.encode()) for k in keys}) == 1, (sha, keys)
            slots.add(key_slot(keys[0].encode()))
        assert len(slots) > 1  # users are spread over the shards
        assert any(len(keys) > 2 for _, keys in client.script_calls)  # claims name the users
    finally:
        await client.aclose()


async def test_a_claim_is_spread_over_the_shards_within_its_limit(
    redis_engine: RedisServer,
) -> None:
    client = Redis.from_url(redis_engine.url)
    store = RedisPresenceStore(client, prefix=f"test:{secrets.token_hex(6)}:presence:", shards=4)
    users = [fresh_id() for _ in range(30)]
    try:
        for user in users:
            await report(store, user, ONLINE, ttl=0.2)
        await asyncio.sleep(0.3)
        batches = [await store.claim_lapsed(limit=7) for _ in range(5)]
        assert [len(b) for b in batches] == [7, 7, 7, 7, 2]
        assert sorted(u for b in batches for u in b) == sorted(users)
        with pytest.raises(ValueError, match="braces"):
            RedisPresenceStore(client, prefix="test:{tagged}:presence:")
    finally:
        await client.aclose()


async def lapsed(store: PresenceStore) -> list[Snowflake]:
    return await store.claim_lapsed(limit=1000)


async def test_a_lapsed_session_is_claimed_once(store: PresenceStore) -> None:
    user, steady = fresh_id(), fresh_id()
    await report(store, user, ONLINE, ttl=0.2)
    await report(store, steady, ONLINE)
    assert user not in await lapsed(store)  # not yet
    await asyncio.sleep(0.3)
    claimed = await lapsed(store)
    assert user in claimed and steady not in claimed
    assert user not in await lapsed(store)  # handed out once


async def test_a_lapse_pruned_by_a_later_write_is_still_claimed(store: PresenceStore) -> None:
    # A dead process's dnd session lapses; the user's other session refreshes right after,
    # pruning it: the change (dnd -> online) must still be announced.
    user = fresh_id()
    await report(store, user, DND, ttl=0.2)
    alive = await report(store, user, ONLINE)
    await asyncio.sleep(0.3)
    assert await store.refresh(user, alive, ttl_seconds=LONG)
    assert user in await lapsed(store)
    assert (await shown(store, user)).status is ONLINE
    assert user not in await lapsed(store)


async def test_a_refreshed_session_does_not_lapse(store: PresenceStore) -> None:
    user = fresh_id()
    session = await report(store, user, ONLINE, ttl=0.3)
    for _ in range(3):
        await asyncio.sleep(0.15)
        assert await store.refresh(user, session, ttl_seconds=0.3)
        assert user not in await lapsed(store)


async def test_a_removed_session_is_not_claimed_later(store: PresenceStore) -> None:
    user = fresh_id()
    session = await report(store, user, ONLINE, ttl=0.2)
    await store.remove(user, session)
    await asyncio.sleep(0.3)
    assert user not in await lapsed(store)


async def test_two_processes_never_claim_the_same_lapse(redis_engine: RedisServer) -> None:
    clients = [Redis.from_url(redis_engine.url) for _ in range(2)]
    prefix = f"test:{secrets.token_hex(6)}:presence:"
    stores = [RedisPresenceStore(c, prefix=prefix) for c in clients]
    users = [fresh_id() for _ in range(50)]
    try:
        for user in users:
            await report(stores[0], user, ONLINE, ttl=0.2)
        await asyncio.sleep(0.3)
        claims = await asyncio.gather(*(s.claim_lapsed(limit=10) for s in stores * 5))
        everything = [u for claim in claims for u in claim]
        assert sorted(everything) == sorted(users)
    finally:
        for c in clients:
            await c.aclose()


async def test_an_unreachable_redis_cluster_degrades_to_this_process() -> None:
    dead = redis_client(f"redis://127.0.0.1:{free_port()}", cluster=True, timeout_seconds=0.5)
    store = FallbackPresenceStore(
        RedisPresenceStore(dead, prefix="test:down:presence:"), MemoryPresenceStore()
    )
    user = fresh_id()
    try:
        await report(store, user, DND)
        assert store.degraded
        assert await shown(store, user) == Presence(user_id=user, status=DND)
    finally:
        await dead.aclose()


async def test_the_fallback_serves_from_this_process_while_redis_is_down() -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    store = FallbackPresenceStore(
        RedisPresenceStore(dead, prefix="test:down:presence:"), MemoryPresenceStore()
    )
    user = fresh_id()
    try:
        session = await report(store, user, DND, custom="away")
        assert store.degraded
        assert await shown(store, user) == Presence(user_id=user, status=DND, custom_status="away")
        assert await store.refresh(user, session, ttl_seconds=LONG)
        assert await store.update(user, session, status=IDLE, custom_status=None)
        assert await shown(store, user) == Presence(user_id=user, status=IDLE)
        await store.remove(user, session)
        assert (await shown(store, user)).status is OFFLINE
    finally:
        await dead.aclose()


async def test_only_a_changed_presence_is_to_be_announced(store: PresenceStore) -> None:
    user = fresh_id()
    online = Presence(user_id=user, status=ONLINE)
    assert await store.swap_shown(online)
    assert not await store.swap_shown(online)
    assert await store.swap_shown(Presence(user_id=user, status=ONLINE, custom_status="brb"))
    assert await store.swap_shown(Presence(user_id=user, status=OFFLINE))
    assert not await store.swap_shown(Presence(user_id=user, status=OFFLINE))
    assert await store.swap_shown(Presence(user_id=fresh_id(), status=ONLINE))  # per user


async def test_of_two_processes_announcing_one_change_one_does(redis_engine: RedisServer) -> None:
    prefix = f"test:{secrets.token_hex(6)}:presence:"
    clients = [Redis.from_url(redis_engine.url) for _ in range(2)]
    stores = [RedisPresenceStore(c, prefix=prefix) for c in clients]
    try:
        presence = Presence(user_id=fresh_id(), status=DND)
        swapped = await asyncio.gather(*(s.swap_shown(presence) for s in stores * 3))
        assert sorted(swapped) == [False] * 5 + [True]
    finally:
        for c in clients:
            await c.aclose()


async def test_a_change_announced_while_redis_was_down_is_not_taken_for_a_repeat() -> None:
    with redis_server() as own:
        client = Redis.from_url(own.url, socket_connect_timeout=0.5)
        shared = RedisPresenceStore(client, prefix="test:outage:presence:")
        store = FallbackPresenceStore(shared, MemoryPresenceStore())
        user = fresh_id()
        try:
            assert await store.swap_shown(Presence(user_id=user, status=ONLINE))
            await asyncio.to_thread(own.stop)
            assert await store.swap_shown(Presence(user_id=user, status=OFFLINE))
            assert store.degraded
            await asyncio.to_thread(own.start)
            # What Redis held before the outage (a partition loses nothing; this Redis
            # restarted empty): ONLINE, while what others last saw is OFFLINE.
            await shared.swap_shown(Presence(user_id=user, status=ONLINE))
            assert await store.swap_shown(Presence(user_id=user, status=ONLINE))
            assert not store.degraded
            assert not await store.swap_shown(Presence(user_id=user, status=ONLINE))
        finally:
            await client.aclose()
