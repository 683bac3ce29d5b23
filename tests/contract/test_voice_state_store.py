"""VoiceStateStore adapters: in-process, Redis and Redis Cluster, with the same session
conditions, expiry and one-caller-per-transition rules."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis, RedisCluster

from gochat.domain.records import VoiceState
from gochat.ids import Snowflake
from gochat.voicestates import ChannelFull, VoiceStateStore
from gochat.voicestates.memory import MemoryVoiceStateStore
from gochat.voicestates.redis import RedisVoiceStateStore

pytestmark = pytest.mark.timeout(60)


def fresh_id() -> Snowflake:
    return Snowflake(secrets.randbits(62) | (1 << 61))


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def store(
    request: pytest.FixtureRequest, shared_redis_client: Callable[[str], Redis | RedisCluster]
) -> AsyncIterator[VoiceStateStore]:
    if request.param == "memory":
        yield MemoryVoiceStateStore()
        return
    client = shared_redis_client(request.param)
    adapter = RedisVoiceStateStore(client, prefix=f"test:{secrets.token_hex(6)}:voice:")
    try:
        yield adapter
    finally:
        await adapter.close()
        await client.aclose()


def state(user_id: Snowflake, guild_id: Snowflake, **flags: object) -> VoiceState:
    values: dict[str, object] = {
        "user_id": user_id,
        "guild_id": guild_id,
        "channel_id": fresh_id(),
        "session_id": fresh_id(),
        "sfu_id": "sfu-1",
        "region": "eu",
    }
    values.update(flags)
    return VoiceState(**values)  # type: ignore[arg-type]


async def test_put_get_and_list_by_guild(store: VoiceStateStore) -> None:
    guild, other = fresh_id(), fresh_id()
    a, b, c = state(fresh_id(), guild), state(fresh_id(), guild), state(fresh_id(), other)
    for s in (a, b, c):
        assert await store.put(s, ttl_seconds=30) is None
    assert await store.get(a.user_id) == a
    assert await store.list_guild(guild) == sorted([a, b], key=lambda s: s.user_id)
    assert await store.list_guild(other) == [c]
    assert await store.get(fresh_id()) is None


async def test_put_replaces_the_users_state_and_returns_the_old_one(
    store: VoiceStateStore,
) -> None:
    guild, elsewhere = fresh_id(), fresh_id()
    first = state(fresh_id(), guild)
    await store.put(first, ttl_seconds=30)
    second = state(first.user_id, elsewhere)
    assert await store.put(second, ttl_seconds=30) == first
    assert await store.list_guild(guild) == []
    assert await store.list_guild(elsewhere) == [second]


async def test_update_applies_flags_only_for_the_current_session(store: VoiceStateStore) -> None:
    s = state(fresh_id(), fresh_id())
    await store.put(s, ttl_seconds=30)
    assert await store.update(s.user_id, fresh_id(), {"server_mute": True}) is None
    changed = await store.update(s.user_id, s.session_id, {"server_mute": True, "speaking": True})
    assert changed is not None
    before, after = changed
    assert before == s
    assert after.server_mute and after.speaking and not after.self_mute
    assert await store.get(s.user_id) == after
    again = await store.update(s.user_id, s.session_id, {"server_mute": True})
    assert again is not None and again[0] == again[1]
    with pytest.raises(ValueError):
        await store.update(s.user_id, s.session_id, {"channel_id": True})


async def test_remove_is_conditional_and_handed_out_once(store: VoiceStateStore) -> None:
    s = state(fresh_id(), fresh_id())
    await store.put(s, ttl_seconds=30)
    assert await store.remove(s.user_id, session_id=fresh_id()) is None
    results = await asyncio.gather(
        *(store.remove(s.user_id, session_id=s.session_id) for _ in range(5))
    )
    assert [r for r in results if r is not None] == [s]
    assert await store.get(s.user_id) is None
    assert await store.list_guild(s.guild_id) == []


async def test_lapsed_states_vanish_and_are_claimed_once(store: VoiceStateStore) -> None:
    guild = fresh_id()
    short, long = state(fresh_id(), guild), state(fresh_id(), guild)
    await store.put(short, ttl_seconds=0.3)
    await store.put(long, ttl_seconds=60)
    claimed: list[VoiceState] = []
    deadline = time.monotonic() + 10
    while not claimed:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
        batches = await asyncio.gather(*(store.claim_expired() for _ in range(3)))
        claimed.extend(s for batch in batches for s in batch)
    assert claimed == [short]
    assert await store.get(short.user_id) is None
    assert await store.list_guild(guild) == [long]
    assert await store.claim_expired() == []


async def test_update_with_ttl_keeps_a_state_alive(store: VoiceStateStore) -> None:
    s = state(fresh_id(), fresh_id())
    await store.put(s, ttl_seconds=1.5)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert await store.update(s.user_id, s.session_id, {"connected": True}, ttl_seconds=1.5)
        await asyncio.sleep(0.1)
    assert (await store.get(s.user_id)) is not None
    assert await store.update(fresh_id(), s.session_id, {}, ttl_seconds=1) is None


async def test_a_channel_limit_admits_that_many_users_even_when_racing(
    store: VoiceStateStore,
) -> None:
    guild, channel = fresh_id(), fresh_id()
    racers = [state(fresh_id(), guild, channel_id=channel) for _ in range(6)]
    results = await asyncio.gather(
        *(store.put(s, ttl_seconds=30, channel_limit=2) for s in racers), return_exceptions=True
    )
    placed = [s for s, r in zip(racers, results, strict=True) if not isinstance(r, Exception)]
    assert len(placed) == 2
    assert all(isinstance(r, ChannelFull) for r in results if isinstance(r, Exception))
    assert len(await store.list_guild(guild)) == 2
    # A member already inside keeps their place on rejoin; another channel is not counted.
    again = state(placed[0].user_id, guild, channel_id=channel)
    assert await store.put(again, ttl_seconds=30, channel_limit=2) == placed[0]
    await store.put(state(fresh_id(), guild), ttl_seconds=30, channel_limit=2)
    assert await store.remove(placed[1].user_id) == placed[1]
    await store.put(racers[-1], ttl_seconds=30, channel_limit=2)
