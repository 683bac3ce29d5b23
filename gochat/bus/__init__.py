"""The event bus port: fan-out of domain events to every process that has listeners.

Adapters: in-process (`bus.memory`, the embedded default) and NATS (scale mode). Both carry
`Envelope`s whose payload is the bytes `bus.codec` produced, so embedded tests exercise the same
serialization as a cluster. Subjects come only from `bus.subjects`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Envelope:
    subject: str
    event_id: int
    payload: bytes
    # The W3C traceparent of the change that published it, when traces are on ("" otherwise):
    # a NATS header, a job table column, so a worker's span continues the change's trace.
    trace: str = field(default="", compare=False)


class SlowConsumer(Exception):
    """A subscription's bounded buffer overflowed; the subscriber must resync."""


class Subscription(Protocol):
    """Envelopes for one subject, in publish order, from a bounded buffer.

    Iteration raises SlowConsumer once the buffer has overflowed; it ends after close().
    """

    def __aiter__(self) -> AsyncIterator[Envelope]: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(
        self,
        envelopes: Sequence[Envelope],
        *,
        durable: bool = True,
        sent: Callable[[], None] | None = None,
    ) -> None:
        """Deliver to current subscribers of each subject, at most once. Never blocks on them.

        Durable envelopes (domain events, on the durable subject families) are also recorded
        for durable consumers, and returning means they were: raises Unavailable otherwise.
        Live delivery does not wait for the recording, so subscribers may have an event that
        the raise says was not recorded (the outbox relay republishes it; subscribers drop the
        second copy by event id). Ephemeral ones (presence, typing) are only fanned out, best
        effort.

        `sent`, when given, is called once every envelope has gone out, in order, before the
        wait for the recording: a later publish can no longer overtake them. It is not called
        when publish fails before that."""

    async def subscribe(self, subject: str, *, max_pending: int = 1024) -> Subscription:
        """Start receiving envelopes published on `subject` from now on."""

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        """Call `callback` after every reconnection to the bus; returns a function that stops
        the calls. Envelopes published while a process was cut off never reach its
        subscriptions, so a listener tells its subscribers to resync. The in-process bus never
        disconnects and never calls it."""

    async def close(self) -> None: ...
