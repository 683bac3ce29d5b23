"""In-process event bus: the embedded default. Payloads stay bytes, exactly as on NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from gochat.bus import Envelope, SlowConsumer

_CLOSED = object()


class _MemorySubscription:
    def __init__(self, bus: MemoryEventBus, subject: str, max_pending: int) -> None:
        self._bus = bus
        self.subject = subject
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max_pending + 1)
        self._max_pending = max_pending
        self._overflowed = False
        self._closed = False

    def offer(self, envelope: Envelope) -> None:
        if self._closed or self._overflowed:
            return
        if self._queue.qsize() >= self._max_pending:
            self._overflowed = True
            self._queue.put_nowait(_CLOSED)
            return
        self._queue.put_nowait(envelope)

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                if self._overflowed:
                    raise SlowConsumer(self.subject)
                return
            assert isinstance(item, Envelope)
            yield item

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus.discard(self)
            if not self._overflowed:
                self._queue.put_nowait(_CLOSED)


class MemoryEventBus:
    def __init__(self) -> None:
        self._subscriptions: dict[str, set[_MemorySubscription]] = {}

    async def publish(
        self,
        envelopes: Sequence[Envelope],
        *,
        durable: bool = True,
        sent: Callable[[], None] | None = None,
    ) -> None:
        for envelope in envelopes:
            for subscription in tuple(self._subscriptions.get(envelope.subject, ())):
                subscription.offer(envelope)
        if sent is not None:
            sent()

    async def subscribe(self, subject: str, *, max_pending: int = 1024) -> _MemorySubscription:
        subscription = _MemorySubscription(self, subject, max_pending)
        self._subscriptions.setdefault(subject, set()).add(subscription)
        return subscription

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        # One process, no connection: there is never anything to resync after.
        return lambda: None

    def discard(self, subscription: _MemorySubscription) -> None:
        subscribers = self._subscriptions.get(subscription.subject)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.subject]

    async def close(self) -> None:
        for subscribers in list(self._subscriptions.values()):
            for subscription in list(subscribers):
                await subscription.close()
