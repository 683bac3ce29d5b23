"""SfuRegistry adapters (in-process, etcd): announce, expiry, withdraw, regions, least loaded."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import pytest

from gochat.discovery import SfuInstance, SfuRegistry, least_loaded
from gochat.discovery.etcd import EtcdSfuRegistry
from gochat.discovery.memory import MemorySfuRegistry
from gochat.discovery.registration import SfuRegistration
from gochat.errors import Unavailable

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "etcd"])
async def registry(request: pytest.FixtureRequest) -> AsyncIterator[SfuRegistry]:
    if request.param == "memory":
        yield MemorySfuRegistry()
        return
    engine = request.getfixturevalue("etcd_engine")
    adapter = EtcdSfuRegistry.from_url(f"{engine.url}?prefix=/test/{secrets.token_hex(6)}")
    try:
        yield adapter
    finally:
        await adapter.close()


def sfu(sfu_id: str, region: str = "eu", load: int = 0) -> SfuInstance:
    return SfuInstance(id=sfu_id, region=region, url=f"ws://127.0.0.1:1/{sfu_id}", load=load)


async def wait_until(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_announced_instances_are_live_per_region(registry: SfuRegistry) -> None:
    await registry.announce(sfu("a", "eu", 3), ttl_seconds=30)
    await registry.announce(sfu("b", "eu", 1), ttl_seconds=30)
    await registry.announce(sfu("c", "us", 0), ttl_seconds=30)
    assert [i.id for i in await registry.live("eu")] == ["a", "b"]
    assert [i.id for i in await registry.live("us")] == ["c"]
    assert [i.id for i in await registry.live()] == ["a", "b", "c"]
    assert await registry.live("asia") == []


async def test_announcing_again_updates_the_load(registry: SfuRegistry) -> None:
    await registry.announce(sfu("a", load=5), ttl_seconds=30)
    await registry.announce(sfu("a", load=9), ttl_seconds=30)
    assert await registry.live("eu") == [sfu("a", load=9)]


async def test_withdrawn_instance_is_gone_at_once(registry: SfuRegistry) -> None:
    await registry.announce(sfu("a"), ttl_seconds=30)
    await registry.announce(sfu("b"), ttl_seconds=30)
    await registry.withdraw("a")
    await registry.withdraw("unknown")
    assert [i.id for i in await registry.live("eu")] == ["b"]


async def test_an_instance_that_stops_refreshing_lapses(registry: SfuRegistry) -> None:
    await registry.announce(sfu("short"), ttl_seconds=1)
    await registry.announce(sfu("long"), ttl_seconds=60)

    async def lapsed() -> bool:
        return [i.id for i in await registry.live("eu")] == ["long"]

    await wait_until(lapsed)


async def test_refreshing_keeps_an_instance_past_its_first_lease(registry: SfuRegistry) -> None:
    await registry.announce(sfu("a"), ttl_seconds=2)
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        await registry.announce(sfu("a"), ttl_seconds=2)
        assert [i.id for i in await registry.live("eu")] == ["a"]
        await asyncio.sleep(0.3)


async def test_a_lapsed_instance_that_announces_again_is_back(registry: SfuRegistry) -> None:
    await registry.announce(sfu("a"), ttl_seconds=1)

    async def gone() -> bool:
        return await registry.live("eu") == []

    await wait_until(gone)
    await registry.announce(sfu("a", load=2), ttl_seconds=30)
    assert await registry.live("eu") == [sfu("a", load=2)]


async def test_registration_registers_refreshes_and_withdraws(registry: SfuRegistry) -> None:
    registration = SfuRegistration(
        registry, sfu_id="r1", region="us", url="ws://127.0.0.1:1/r1", lease_seconds=2
    )
    await registration.register()
    assert await registry.live("us") == [sfu("r1", "us", 0)]
    load = 0

    def current() -> int:
        return load

    task = asyncio.create_task(registration.run(current))
    load = 4

    async def loaded() -> bool:
        return [i.load for i in await registry.live("us")] == [4]

    await wait_until(loaded)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await registry.live("us") == []


class _SlowWithdrawal(MemorySfuRegistry):
    """A registry whose withdrawal waits until released, as a loaded etcd may."""

    def __init__(self) -> None:
        super().__init__()
        self.withdrawing = asyncio.Event()
        self.release = asyncio.Event()

    async def withdraw(self, sfu_id: str) -> None:
        self.withdrawing.set()
        await self.release.wait()
        await super().withdraw(sfu_id)


async def test_a_repeated_stop_still_waits_for_the_withdrawal() -> None:
    registry = _SlowWithdrawal()
    registration = SfuRegistration(registry, sfu_id="r1", region="us", url="ws://127.0.0.1:1/r1")
    task = asyncio.create_task(registration.run(lambda: 0))
    await wait_until(lambda: _live(registry))
    task.cancel()
    await registry.withdrawing.wait()
    task.cancel()  # stop_task cancels again while the withdrawal is under way
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()
    registry.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await registry.live() == []


async def _live(registry: SfuRegistry) -> bool:
    return bool(await registry.live())


def test_least_loaded_prefers_low_load_then_id_and_avoids_dead_rooms() -> None:
    pool = [sfu("b", load=2), sfu("a", load=2), sfu("c", load=7)]
    assert least_loaded(pool) == sfu("a", load=2)
    assert least_loaded(pool, avoid=frozenset({"a", "b"})) == sfu("c", load=7)
    assert least_loaded(pool[:1], avoid=frozenset({"b"})) == sfu("b", load=2)
    assert least_loaded([]) is None


async def test_bad_instances_are_refused(registry: SfuRegistry) -> None:
    with pytest.raises(ValueError):
        await registry.announce(sfu("a/b"), ttl_seconds=5)
    with pytest.raises(ValueError):
        await registry.announce(sfu("a"), ttl_seconds=0)


async def test_an_unreachable_etcd_is_unavailable() -> None:
    from tests.support.engines import free_port

    adapter = EtcdSfuRegistry.from_url(f"etcd://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(Unavailable):
            await adapter.live("eu")
    finally:
        await adapter.close()
