"""The per-process cache of guild permission data: expiry, invalidation, racing loads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from gochat.domain.guild_access import GuildAccess, GuildStateCache
from gochat.domain.records import Guild, Member
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


def test_message_events_keep_the_guild_data_and_other_guild_events_drop_it() -> None:
    from gochat.bus import subjects
    from gochat.bus.codec import seal
    from gochat.domain.events import GuildUpdated, MessagesDeleted

    cache = GuildStateCache()
    access = GuildAccess(store=None, cache=cache)  # type: ignore[arg-type]
    cache.put(GUILD, data("a"), cache.generation(GUILD))
    deleted = MessagesDeleted(
        event_id=Snowflake(10), channel_id=Snowflake(3), guild_id=GUILD, message_ids=()
    )
    access.on_published(seal(deleted, subjects.guild(GUILD)))
    assert cache.get(GUILD) is not None
    updated = GuildUpdated(event_id=Snowflake(11), guild=data("b").guild)
    access.on_published(seal(updated, subjects.guild(GUILD)))
    assert cache.get(GUILD) is None


def test_the_event_type_is_read_without_decoding_the_payload() -> None:
    from gochat.bus.codec import encode, event_type
    from gochat.domain.events import MessagesDeleted

    event = MessagesDeleted(
        event_id=Snowflake(10), channel_id=Snowflake(3), guild_id=None, message_ids=()
    )
    assert event_type(encode(event)) == "MessagesDeleted"
    assert event_type(b'{"v":1,"type":"RoleDeleted"}') == "RoleDeleted"


def member(user_id: int) -> Member:
    return Member(
        guild_id=GUILD,
        user_id=Snowflake(user_id),
        nickname=None,
        role_ids=(),
        joined_at=datetime.now(UTC),
        timeout_until=None,
    )


def test_members_expire_and_drop_with_any_change_to_their_guild() -> None:
    cache = GuildStateCache(ttl_seconds=0.05)
    cache.put_member(GUILD, member(7), cache.generation(GUILD))
    assert cache.member(GUILD, Snowflake(7)) is not None
    cache.invalidate(GUILD)  # a kick, a ban, a role change: any event on the guild subject
    assert cache.member(GUILD, Snowflake(7)) is None
    cache.put_member(GUILD, member(7), cache.generation(GUILD))
    time.sleep(0.06)
    assert cache.member(GUILD, Snowflake(7)) is None


def test_a_member_load_that_raced_with_a_change_is_not_stored() -> None:
    cache = GuildStateCache()
    generation = cache.generation(GUILD)
    cache.invalidate(GUILD)
    cache.put_member(GUILD, member(7), generation)
    assert cache.member(GUILD, Snowflake(7)) is None


async def test_concurrent_operations_share_one_load_of_an_uncached_guild() -> None:
    import asyncio

    from gochat.domain.records import Viewer

    class CountingStore:
        loads = 0

        async def load_access(self, guild_id: Snowflake, user_id: Snowflake) -> GuildAccessData:
            self.loads += 1
            await asyncio.sleep(0.02)  # the entry lapsed: every request arrives meanwhile
            return GuildAccessData(
                guild=data("a").guild,
                member=member(user_id),
                roles={},
                overwrites=[],
                channels={},
            )

        async def get_member(self, guild_id: Snowflake, user_id: Snowflake) -> Member:
            return member(user_id)

    store = CountingStore()
    access = GuildAccess(store=store)  # type: ignore[arg-type]
    expires = datetime.now(UTC)
    views = await asyncio.gather(
        *(access.view(Viewer(Snowflake(u), Snowflake(1), expires), GUILD) for u in range(10, 30))
    )
    assert store.loads == 1
    assert [v.member.user_id for v in views] == list(range(10, 30))
