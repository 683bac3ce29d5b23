"""The collector pacing of `gochat serve`: survivors of full passes are frozen, and handed back
to the collector every interval, so reference cycles among them are still reclaimed."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator

import pytest

from gochat.collector_pacing import CollectorPacing


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


# Generous: the collector walks the whole test process, which a busy machine slows down.
pytestmark = pytest.mark.timeout(180)


async def handed_back() -> None:
    """Until the pacing's timer has handed the frozen objects back to the collector."""
    async with asyncio.timeout(30):
        while gc.get_freeze_count() != 0:
            await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.collect()


@pytest.fixture
async def pacing() -> AsyncIterator[CollectorPacing]:
    """Pacing started in the test's event loop, handing frozen objects back every 0.2 s."""
    started = CollectorPacing(full_interval_seconds=0.2)
    started.start()
    yield started
    started.stop()


async def test_survivors_of_a_full_pass_are_frozen_and_later_handed_back(
    pacing: CollectorPacing,
) -> None:
    kept, _ = cycle()
    gc.collect()
    assert pacing.full_passes == 1
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects())  # out of the collector's view
    await handed_back()
    assert any(o is kept for o in gc.get_objects())


@pytest.mark.usefixtures("pacing")
async def test_a_cycle_that_died_while_frozen_is_reclaimed_after_the_interval() -> None:
    node, alive = cycle()
    gc.collect()  # the cycle survives this pass, so it is frozen
    del node
    gc.collect()
    assert alive() is not None  # frozen: a pass does not look at it
    await handed_back()  # the interval hands it back
    gc.collect()
    assert alive() is None


async def test_a_frozen_set_that_outgrows_its_last_walk_is_handed_back_at_once() -> None:
    """Under load every full pass freezes what is in flight (requests die a moment later):
    the frozen set may not grow without bound until the interval."""
    pacing = CollectorPacing(full_interval_seconds=0, max_frozen_growth=0, min_frozen_growth=1000)
    pacing.start()
    try:
        gone: list[weakref.ref[Node]] = []
        for _ in range(100):
            in_flight = [cycle() for _ in range(300)]
            gc.collect()  # a full pass while they live: frozen
            gone += [ref for _, ref in in_flight]
            del in_flight  # dead, in the frozen set
            if pacing.early_handbacks:
                break
        assert pacing.early_handbacks == 1
        gc.collect()
        assert [ref for ref in gone if ref() is not None] == []
    finally:
        pacing.stop()


async def test_stop_removes_the_callback_and_the_timer() -> None:
    pacing = CollectorPacing(full_interval_seconds=0.1)
    pacing.start()
    pacing.stop()
    gc.unfreeze()
    gc.collect()
    assert pacing.full_passes == 0
    await asyncio.sleep(0.2)
    alive = cycle()[1]
    gc.collect()
    assert alive() is None and gc.get_freeze_count() == 0
