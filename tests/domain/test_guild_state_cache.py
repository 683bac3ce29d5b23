"""The per-process cache of guild permission data: expiry, invalidation, racing loads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from gochat.domain.guild_access import GuildStateCache
from gochat.domain.records import Guild
from gochat.ids import Snowflake
from gochat.storage import GuildAccessData

GUILD = Snowflake(1)


def data(name: str) -> GuildAccessData:
    guild = Guild(GUILD, name, Snowflake(2), None, datetime.now(UTC))
    return GuildAccessData(guild=guild, member=None, roles={}, overwrites=[], channels={})


def test_entries_expire_after_the_ttl() -> None:
    cache = GuildStateCache(ttl_seconds=0.05)
    cache.put(GUILD, data("a"), cache.generation(GUILD))
    assert cache.get(GUILD) is not None
    time.sleep(0.06)
    assert cache.get(GUILD) is None


def test_invalidation_drops_the_entry() -> None:
    cache = GuildStateCache()
    cache.put(GUILD, data("a"), cache.generation(GUILD))
    cache.invalidate(GUILD)
    assert cache.get(GUILD) is None


def test_a_load_that_raced_with_a_change_is_not_stored() -> None:
    cache = GuildStateCache()
    generation = cache.generation(GUILD)  # a load starts...
    cache.invalidate(GUILD)  # ...a change commits meanwhile...
    cache.put(GUILD, data("stale"), generation)  # ...and the old read must not be kept
    assert cache.get(GUILD) is None


def test_the_cache_is_bounded() -> None:
    cache = GuildStateCache(max_guilds=2)
    for n in range(1, 4):
        cache.put(Snowflake(n), data(str(n)), 0)
    assert cache.get(Snowflake(1)) is None and cache.get(Snowflake(3)) is not None
