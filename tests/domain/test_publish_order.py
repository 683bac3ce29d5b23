"""PublishOrder: per key, turns end in the order they were taken, whatever order their work
finishes in; a turn that ends without publishing lets the next one go only once every earlier
turn is over too; a key whose turns are all over holds nothing."""

from __future__ import annotations

import asyncio

import pytest

from gochat.domain.publisher import PublishOrder

pytestmark = pytest.mark.timeout(30)


async def test_publications_leave_in_the_order_turns_were_taken() -> None:
    order = PublishOrder()
    published: list[int] = []
    gates = [asyncio.Event() for _ in range(4)]

    async def send(n: int) -> None:
        turn = order.take("channel")
        try:
            await gates[n].wait()  # the work (a commit) finishes in any order
            await turn.wait()
            published.append(n)
        finally:
            turn.close()

    tasks = [asyncio.create_task(send(n)) for n in range(4)]
    await asyncio.sleep(0)
    for n in (3, 1, 2, 0):
        gates[n].set()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert published == [0, 1, 2, 3]
    assert order._last == {}


async def test_a_turn_that_ends_unpublished_does_not_let_a_later_one_overtake() -> None:
    order = PublishOrder()
    first, failed, third = order.take("c"), order.take("c"), order.take("c")
    failed.close()  # its send failed, before the first one published
    waiting = asyncio.create_task(third.wait())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    first.close()
    await asyncio.wait_for(waiting, 5)
    third.close()
    assert order._last == {}


async def test_keys_are_independent() -> None:
    order = PublishOrder()
    held = order.take("a")
    other = order.take("b")
    await asyncio.wait_for(other.wait(), 5)
    other.close()
    held.close()


async def test_a_turn_stuck_behind_a_slow_publish_goes_after_the_bound() -> None:
    order = PublishOrder(max_wait_seconds=0.05)
    stuck = order.take("c")  # its publish waits for a bus that is down
    later = order.take("c")
    await asyncio.wait_for(later.wait(), 5)
    later.close()
    stuck.close()
    await asyncio.sleep(0)  # done-callbacks run on the next loop iteration
    assert order._last == {}
