"""The per-process fan-out hub.

Each API process holds one bus subscription per subject its local subscribers need, reference
counted and dropped when the last one leaves, never one per subscriber. For each event, the hub
decodes it once (dropping a copy the outbox relay republished), lets the audience resolver
catch up, asks the listening feeds whether their viewer may see it (once per viewer and kind
of feed, not per socket), groups the admitted operations by document, and executes each distinct
document once: the serialized result is written to every socket of the group. A document whose
execution asked for the viewer (a `me` flag, an unread count) is executed per subscriber. What
an event changed for one viewer alone (a channel hidden from them or shown to them) comes as
the feed's own root values, delivered to its operations before the event.

The hub never blocks on a socket: frames go to each socket's bounded outbox (see
`connection.LiveSocket`). A bus subscription that overflows, or a reconnection to the bus,
tells every affected subscriber to resync (`ResyncRequired`) instead of silently dropping
events.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from gochat.bus import Envelope, EventBus, SlowConsumer, Subscription
from gochat.bus.codec import UnknownEvent, decode
from gochat.domain.audience import AudienceResolver
from gochat.errors import GoChatError
from gochat.ids import created_at_ms
from gochat.schema.events import ResyncRequired
from gochat.tasks import stop_task

if TYPE_CHECKING:
    from gochat.subscriptions.feeds import Feed
    from gochat.subscriptions.wire import Payload

log = structlog.get_logger("gochat.hub")


class SeenEvents:
    """The (subject, event id) pairs dispatched or dropped in the last `window_seconds`, at
    most `max_entries` of them. On NATS every event reaches the hub at once on its live path,
    and again whenever the outbox relay republishes it: a grace period (10 s by default) after
    its first publish when the stream did not confirm it, and on every relay pass while the
    stream stays unavailable. A fixed count of recent ids is outrun by any busy subject in that
    time, a time window is not; each copy seen restarts the pair's window, so a relay that
    keeps resending through a long stream outage keeps being dropped. After an outage of the
    whole bus longer than the window, subscribers are told to resync anyway."""

    def __init__(self, *, window_seconds: float = 120.0, max_entries: int = 50_000) -> None:
        self._window = window_seconds
        self._max_entries = max_entries
        self._expiries: OrderedDict[tuple[str, int], float] = OrderedDict()

    def first_time(self, subject: str, event_id: int) -> bool:
        """Record the pair; False when it was seen within the window."""
        key = (subject, event_id)
        expiries = self._expiries
        now = time.monotonic()
        seen = expiries.pop(key, 0.0) > now
        # Re-inserted at the end: the entries stay in expiry order.
        expiries[key] = now + self._window
        while len(expiries) > self._max_entries or next(iter(expiries.values())) <= now:
            expiries.popitem(last=False)
        return not seen

    def __len__(self) -> int:
        return len(self._expiries)


class LiveOperation(Protocol):
    """One subscription of one socket, as the hub sees it."""

    feed: Feed
    document_key: str

    async def execute(self, root: object) -> tuple[Payload, bool]:
        """The serialized `payload` for one root value, and whether it used the viewer."""

    def send_payload(self, payload: Payload) -> None:
        """Queue a `next` frame with this payload. Never blocks."""

    @staticmethod
    def send_payload_to(operations: Sequence[Any], payload: Payload) -> None:
        """`send_payload` on each of `operations`, all of this operation's kind."""

    def end(self, error: GoChatError | None) -> None:
        """Complete the operation (with an error when given)."""


@dataclass
class HubStats:
    events: int = 0
    deliveries: int = 0
    executions: int = 0
    resyncs: int = 0
    slow_topics: int = 0
    subscriptions_opened: int = 0
    subscriptions_closed: int = 0
    # From an event's creation (its id's time) to this process taking it off the bus.
    consume_lag_seconds_sum: float = 0.0
    consume_lag_seconds_max: float = 0.0  # since the previous read_max_lag()

    def read_max_lag(self) -> float:
        lag, self.consume_lag_seconds_max = self.consume_lag_seconds_max, 0.0
        return lag


@dataclass(eq=False, slots=True)
class _Judged:
    """Operations of one topic whose feeds reach the same verdict on every event (one verdict
    key), and the same operations by delivery group (root shape and document)."""

    operations: list[LiveOperation]
    by_delivery: dict[tuple[Any, str], list[LiveOperation]]


def _plan(operations: set[LiveOperation]) -> list[_Judged]:
    judged: dict[Hashable, list[LiveOperation]] = {}
    alone: list[list[LiveOperation]] = []
    for operation in operations:
        key = operation.feed.verdict_key()
        if key is None:
            alone.append([operation])
        else:
            judged.setdefault(key, []).append(operation)
    plan = []
    for members in (*judged.values(), *alone):
        by_delivery: dict[tuple[Any, str], list[LiveOperation]] = {}
        for operation in members:
            by_delivery.setdefault((operation.feed.shape, operation.document_key), []).append(
                operation
            )
        plan.append(_Judged(members, by_delivery))
    return plan


@dataclass(eq=False)
class _Topic:
    subject: str
    subscription: Subscription | None = None
    pump: asyncio.Task[None] | None = None
    operations: set[LiveOperation] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # The operations grouped for dispatch, rebuilt after the set changes: grouping a
    # thousand operations per event would cost more than judging them.
    _plan: list[_Judged] | None = None

    def add(self, operation: LiveOperation) -> None:
        self.operations.add(operation)
        self._plan = None

    def discard(self, operation: LiveOperation) -> None:
        self.operations.discard(operation)
        self._plan = None

    def plan(self) -> list[_Judged]:
        if self._plan is None:
            self._plan = _plan(self.operations)
        return self._plan


class Hub:
    def __init__(
        self,
        bus: EventBus,
        audience: AudienceResolver,
        *,
        observers: Sequence[Callable[[Sequence[Envelope]], None]] = (),
        max_pending: int = 8192,
        seen: SeenEvents | None = None,
    ) -> None:
        self._bus = bus
        self._audience = audience
        self._observers = tuple(observers)
        self._max_pending = max_pending
        self._seen = seen if seen is not None else SeenEvents()
        self._topics: dict[str, _Topic] = {}
        self._lock = asyncio.Lock()
        self.stats = HubStats()
        self._stop_reconnect = bus.on_reconnect(self._on_reconnect)

    @property
    def subject_count(self) -> int:
        return len(self._topics)

    # --- listening -------------------------------------------------------------------------

    async def attach(self, operation: LiveOperation) -> None:
        """Start delivering the feed's events to the operation."""
        feed = operation.feed
        # Interned: a thousand feeds of one channel hold one string per subject.
        feed.subjects = {sys.intern(subject) for subject in feed.subjects}
        for subject in tuple(feed.subjects):
            await self._listen(subject, operation)

    async def detach(self, operation: LiveOperation) -> None:
        for subject in tuple(operation.feed.subjects):
            await self._unlisten(subject, operation)

    async def _listen(self, subject: str, operation: LiveOperation) -> None:
        topic = self._topics.get(subject)
        if topic is None:
            topic = _Topic(subject)
            self._topics[subject] = topic
            topic.add(operation)
            try:
                await self._open(topic)
            except BaseException:
                topic.discard(operation)
                if not topic.operations and self._topics.get(subject) is topic:
                    del self._topics[subject]
                raise
            return
        topic.add(operation)
        await topic.ready.wait()

    async def _open(self, topic: _Topic) -> None:
        topic.subscription = await self._bus.subscribe(topic.subject, max_pending=self._max_pending)
        self.stats.subscriptions_opened += 1
        topic.pump = asyncio.create_task(self._pump(topic), name=f"hub:{topic.subject}")
        topic.ready.set()

    async def _unlisten(self, subject: str, operation: LiveOperation) -> None:
        topic = self._topics.get(subject)
        if topic is None:
            return
        topic.discard(operation)
        if topic.operations:
            return
        await topic.ready.wait()
        if topic.operations or self._topics.get(subject) is not topic:
            return  # someone joined while the subscription was being opened
        del self._topics[subject]
        await self._close(topic)

    async def _close(self, topic: _Topic) -> None:
        if topic.pump is not None and topic.pump is not asyncio.current_task():
            with contextlib.suppress(Exception):
                await stop_task(topic.pump)
        if topic.subscription is not None:
            with contextlib.suppress(Exception):
                await topic.subscription.close()
            self.stats.subscriptions_closed += 1

    async def close(self) -> None:
        self._stop_reconnect()
        topics, self._topics = list(self._topics.values()), {}
        for topic in topics:
            await self._close(topic)

    # --- delivering ------------------------------------------------------------------------

    async def _pump(self, topic: _Topic) -> None:
        subscription = topic.subscription
        assert subscription is not None
        try:
            async for envelope in subscription:
                try:
                    await self._dispatch(topic, envelope)
                except Exception:  # one bad event must not end the subject for everyone
                    log.exception("hub.dispatch_failed", subject=topic.subject)
        except SlowConsumer:
            self.stats.slow_topics += 1
            log.warning("hub.slow_topic", subject=topic.subject)
            await self._reopen(topic)

    async def _reopen(self, topic: _Topic) -> None:
        """Replace an overflowed bus subscription and tell its subscribers to resync."""
        with contextlib.suppress(Exception):
            assert topic.subscription is not None
            await topic.subscription.close()
        try:
            topic.subscription = await self._bus.subscribe(
                topic.subject, max_pending=self._max_pending
            )
        except GoChatError:
            log.exception("hub.resubscribe_failed", subject=topic.subject)
            topic.subscription = None
        self._audience.forget_all()
        await self._resync(tuple(topic.operations), "this server fell behind on its event bus")
        if topic.subscription is not None and self._topics.get(topic.subject) is topic:
            topic.pump = asyncio.create_task(self._pump(topic), name=f"hub:{topic.subject}")

    async def _on_reconnect(self) -> None:
        operations = {op for topic in self._topics.values() for op in topic.operations}
        self._audience.forget_all()
        await self._resync(tuple(operations), "the server reconnected to its event bus")

    async def _resync(self, operations: Sequence[LiveOperation], reason: str) -> None:
        root = ResyncRequired(reason=reason)
        self.stats.resyncs += len(operations)
        await self._deliver(root, list(operations))

    async def _dispatch(self, topic: _Topic, envelope: Envelope) -> None:
        if not self._seen.first_time(topic.subject, envelope.event_id):
            return  # republished by the outbox relay
        try:
            event = decode(envelope.payload)
        except UnknownEvent:
            log.warning("hub.unknown_event", subject=topic.subject)
            return
        stats = self.stats
        stats.events += 1
        lag = max(0.0, time.time() - created_at_ms(envelope.event_id) / 1000)
        stats.consume_lag_seconds_sum += lag
        stats.consume_lag_seconds_max = max(stats.consume_lag_seconds_max, lag)
        for observe in self._observers:
            observe((envelope,))
        audience = self._audience
        audience.before(event)
        event_id = event.event_id
        deliveries: dict[tuple[Any, str], list[LiveOperation]] = {}
        endings: list[tuple[LiveOperation, GoChatError | None]] = []
        changes: list[tuple[LiveOperation, tuple[str, ...], tuple[str, ...]]] = []
        # Roots for one feed's operations alone (what this event changed for its viewer).
        own: list[tuple[tuple[object, ...], list[LiveOperation]]] = []
        for judged in topic.plan():
            # A feed that already had this event on another of its subjects skips it.
            fresh = [op for op in judged.operations if not op.feed.seen(event_id)]
            if not fresh:
                continue
            verdict = await fresh[0].feed.admit(topic.subject, event)
            if verdict.prepend:
                own.append((verdict.prepend, fresh))
            if verdict.deliver:
                if len(fresh) == len(judged.operations):
                    for key, operations in judged.by_delivery.items():
                        # (The plan's lists are copied, never extended in place.)
                        deliveries.setdefault(key, []).extend(operations)
                else:
                    for operation in fresh:
                        key = (operation.feed.shape, operation.document_key)
                        deliveries.setdefault(key, []).append(operation)
            if verdict.listen or verdict.unlisten:
                changes.extend((op, verdict.listen, verdict.unlisten) for op in fresh)
            if verdict.end or verdict.error is not None:
                endings.extend((op, verdict.error) for op in fresh)
        audience.after(event)
        for roots, operations in own:
            for root in roots:
                await self._deliver(root, operations)
        shaped: dict[Any, object | None] = {}
        for (shape, _), operations in deliveries.items():
            if shape not in shaped:
                shaped[shape] = shape(event)
            root = shaped[shape]
            if root is not None:
                await self._deliver_one_document(root, operations)
        for operation, listen, unlisten in changes:
            await self._change(operation, listen, unlisten)
        for operation, error in endings:
            operation.end(error)

    async def _deliver(self, root: object, operations: list[LiveOperation]) -> None:
        """Execute once per distinct document and write the result to every operation."""
        by_document: dict[str, list[LiveOperation]] = {}
        for operation in operations:
            by_document.setdefault(operation.document_key, []).append(operation)
        for group in by_document.values():
            await self._deliver_one_document(root, group)

    async def _deliver_one_document(self, root: object, group: list[LiveOperation]) -> None:
        """Operations that share one document: executed once unless it used the viewer."""
        stats = self.stats
        first = group[0]
        payload, personal = await first.execute(root)
        stats.executions += 1
        if personal:
            first.send_payload(payload)
            for operation in group[1:]:
                payload, _ = await operation.execute(root)
                stats.executions += 1
                operation.send_payload(payload)
        else:
            first.send_payload_to(group, payload)
        stats.deliveries += len(group)

    async def _change(
        self, operation: LiveOperation, listen: tuple[str, ...], unlisten: tuple[str, ...]
    ) -> None:
        feed = operation.feed
        for subject in unlisten:
            if subject in feed.subjects:
                feed.subjects.discard(subject)
                await self._unlisten(subject, operation)
        for subject in listen:
            if subject not in feed.subjects:
                feed.subjects.add(subject)
                try:
                    await self._listen(subject, operation)
                except GoChatError:
                    log.warning("hub.listen_failed", subject=subject)
                    feed.subjects.discard(subject)
