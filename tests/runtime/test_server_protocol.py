"""The receive queue and the writable flag that replace asyncio's in uvicorn's WebSocket
protocol (gochat.subscriptions.server_protocol): the same behaviour as `asyncio.Queue` and
`asyncio.Event` in what uvicorn and the direct wire use, allocated only while in use."""

from __future__ import annotations

import asyncio

import pytest

from gochat.subscriptions.server_protocol import ReceiveQueue, WritableFlag

Message = dict[str, str]


def _message(n: int) -> Message:
    return {"type": "websocket.receive", "text": str(n)}


async def test_messages_come_out_in_the_order_they_were_put() -> None:
    queue = ReceiveQueue()
    assert queue.empty()
    for n in range(3):
        queue.put_nowait(_message(n))  # type: ignore[arg-type]
    assert queue.qsize() == 3
    assert [await queue.get() for _ in range(3)] == [_message(n) for n in range(3)]
    assert queue.empty()
    assert queue.qsize() == 0


async def test_get_nowait_on_an_empty_queue_raises_queue_empty() -> None:
    with pytest.raises(asyncio.QueueEmpty):
        ReceiveQueue().get_nowait()


async def test_a_waiting_get_receives_the_next_message_put() -> None:
    queue = ReceiveQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait(_message(1))  # type: ignore[arg-type]
    assert await getter == _message(1)
    assert queue.empty()


async def test_each_waiting_getter_receives_one_message() -> None:
    queue = ReceiveQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for n in range(3):
        queue.put_nowait(_message(n))  # type: ignore[arg-type]
    received = await asyncio.gather(*getters)
    assert sorted(m["text"] for m in received) == ["0", "1", "2"]
    assert queue.empty()


async def test_a_cancelled_getter_loses_no_message() -> None:
    queue = ReceiveQueue()
    cancelled = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    queue.put_nowait(_message(1))  # type: ignore[arg-type]
    assert await queue.get() == _message(1)


async def test_a_getter_cancelled_after_its_wake_up_hands_the_message_to_the_next() -> None:
    queue = ReceiveQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(_message(1))  # wakes `first`, which is cancelled before it runs
    first.cancel()
    assert await second == _message(1)
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_flag_wait_returns_at_once_when_set_and_waits_when_clear() -> None:
    flag = WritableFlag()
    assert not flag.is_set()
    flag.set()
    assert flag.is_set()
    assert await flag.wait() is True
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await waiter is True


async def test_setting_the_flag_releases_every_waiter() -> None:
    flag = WritableFlag()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True, True]


async def test_a_cancelled_flag_waiter_leaves_the_others_waiting() -> None:
    flag = WritableFlag()
    cancelled = asyncio.create_task(flag.wait())
    other = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.sleep(0)
    assert not other.done()
    flag.set()
    assert await other is True
