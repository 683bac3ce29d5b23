"""Running one socket's operations: queries and mutations execute through the schema like
HTTP ones; a subscription's document is parsed and validated once per distinct text
(`DocumentCache`), its root field opens a feed, and `LiveSubscription` is what the hub delivers
to, or what iterates the feed alone (`fanout="per-subscriber"`)."""

from __future__ import annotations

import asyncio
import json
import sys
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, parse, validate
from graphql.execution import Executor, create_source_event_stream, execute_subscription_event
from graphql.pyutils import is_awaitable

from gochat.domain.events import SessionRevoked
from gochat.errors import GoChatError
from gochat.schema.document_cache import cacheable
from gochat.subscriptions.executor import EventExecutor
from gochat.subscriptions.feeds import Feed, FeedStream
from gochat.subscriptions.protocol import result_payload
from gochat.subscriptions.wire import Payload

if TYPE_CHECKING:
    from gochat.subscriptions.connection import LiveSocket
    from gochat.subscriptions.transport import LiveEndpoint


class DocumentCache:
    """Parsed and validated documents by text, so a thousand sockets subscribing with the same
    document cost one parse and one validation (within the bound gochat.schema.document_cache
    explains)."""

    def __init__(self, endpoint: LiveEndpoint, *, size: int = 256) -> None:
        self._endpoint = endpoint
        self._size = size
        self._entries: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = (
            OrderedDict()
        )

    def get(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        found = self._entries.get(query)
        if found is not None:
            self._entries.move_to_end(query)
            return found
        endpoint = self._endpoint
        try:
            document = parse(query, max_tokens=endpoint.max_tokens)
        except GraphQLError as exc:
            entry: tuple[DocumentNode | None, list[GraphQLError]] = (None, [exc])
        else:
            errors = validate(endpoint.graphql_schema, document, rules=endpoint.validation_rules)
            entry = (None, list(errors)) if errors else (document, [])
        if cacheable(query):
            self._entries[query] = entry
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry


class SharedExecutors:
    """One executor per document key (text, operation name and variables) for every live
    subscription of the process. Each event is executed by a copy of it with the event as its
    root value (`LiveSubscription.execute`) and a fresh context; nothing in it is the
    operation's own once the feed is open, so equal keys can share one instead of holding
    about 2 KB each. Kept as long as an operation holds it."""

    def __init__(self) -> None:
        self._by_key: weakref.WeakValueDictionary[str, Executor[Any]] = (
            weakref.WeakValueDictionary()
        )

    def share(self, key: str, executor: Executor[Any]) -> Executor[Any]:
        """The executor already shared under `key`, else `executor`, shared from now on."""
        found = self._by_key.get(key)
        if found is None:
            self._by_key[key] = executor
            return executor
        return found


async def run_single(
    socket: LiveSocket,
    op_id: str,
    query: str,
    variables: dict[str, Any],
    operation_name: str | None,
) -> None:
    """A query or mutation sent over the socket: executed like an HTTP one, then completed."""
    try:
        result = await socket.endpoint.schema.execute(
            query,
            variable_values=variables,
            context_value=socket.context(),
            operation_name=operation_name,
        )
        socket.send_next(op_id, result_payload(result.data, result.errors, request_id=None).text)
        socket.send_complete(op_id)
    finally:
        socket.operations.pop(op_id, None)


async def start_subscription(
    socket: LiveSocket,
    op_id: str,
    *,
    query: str,
    document: DocumentNode,
    variables: dict[str, Any],
    operation_name: str | None,
) -> None:
    """Open the subscription's feed and hand it to the hub (or iterate it alone), its
    snapshot first."""
    context = socket.context()
    built = EventExecutor.build(
        socket.endpoint.graphql_schema,
        document,
        context_value=context,
        raw_variable_values=variables,
        operation_name=operation_name,
    )
    if isinstance(built, list):
        socket.send_graphql_errors(op_id, built)
        return
    source = create_source_event_stream(built)
    if is_awaitable(source):
        source = await source
    if isinstance(source, ExecutionResult):
        socket.send_graphql_errors(op_id, source.errors or [], request_id=context.request_id)
        return
    if not isinstance(source, FeedStream):
        socket.send_graphql_errors(op_id, [GraphQLError("not a live field")])
        return
    # Each event is executed with a fresh context (`LiveSubscription.execute`): the one
    # that opened the feed is not kept for the subscription's lifetime, nor the memo of
    # permission data that opening it left in the feed's viewer.
    built.context_value = None
    source.feed.viewer.cache.clear()
    # Interned: a thousand sockets with the same document hold one key.
    key = sys.intern(json.dumps([query, operation_name, variables], sort_keys=True, default=str))
    executor = socket.endpoint.executors.share(key, built)
    live = LiveSubscription(socket, op_id, executor, source.feed, key)
    socket.operations[op_id] = live
    if socket.endpoint.settings.fanout == "per-subscriber":
        live.task = asyncio.create_task(live.run_alone(source))
        return
    # Listen first, read the snapshot second, and hold what arrives meanwhile until the
    # snapshot is out: no change falls between the two, and none precedes it.
    live.held = []
    try:
        await socket.hub.attach(live)
        for root in await source.feed.initial():
            payload, _ = await live.execute(root)
            live.send_now(payload)
    except GoChatError as exc:
        socket.operations.pop(op_id, None)
        await socket.hub.detach(live)
        socket.send_errors(op_id, [exc])
        return
    finally:
        held, live.held = live.held, None
    for payload in held or ():  # None when the operation ended meanwhile
        live.send_payload(payload)


# Frame prefixes (operation id and message type) as text and bytes, shared by every operation
# that has the same one: clients mostly number their operations alike ("1", "2", ...), and each
# prefix is about 150 bytes per operation otherwise. Bounded: ids are the client's choice.
_PREFIXES: dict[str, tuple[str, bytes]] = {}
_MAX_PREFIXES = 256


def _shared_prefix(text: str) -> tuple[str, bytes]:
    found = _PREFIXES.get(text)
    if found is None:
        found = (text, text.encode())
        if len(_PREFIXES) < _MAX_PREFIXES:
            _PREFIXES[text] = found
    return found


class LiveSubscription:
    """One subscription operation of a socket, fed by the hub (or alone, as the baseline)."""

    __slots__ = (
        "_ended",
        "_prefix",
        "_prefix_bytes",
        "document_key",
        "executor",
        "feed",
        "held",
        "op_id",
        "socket",
        "task",
    )

    def __init__(
        self,
        socket: LiveSocket,
        op_id: str,
        executor: Executor[Any],
        feed: Feed,
        document_key: str,
    ) -> None:
        self.socket = socket
        self.op_id = op_id
        self.executor = executor
        self.feed = feed
        self.document_key = document_key
        self.task: asyncio.Task[None] | None = None
        self._prefix, self._prefix_bytes = _shared_prefix(socket.frame_prefix(op_id))
        self._ended = False
        self.held: list[Payload] | None = None  # payloads held back until the snapshot is sent

    async def execute(self, root: object) -> tuple[Payload, bool]:
        context = self.socket.context()
        per_event = self.executor.build_per_event_executor(root)
        per_event.context_value = context
        result = execute_subscription_event(per_event)
        if is_awaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result_payload(result.data, result.errors, request_id=context.request_id), (
            context.viewer_used
        )

    def send_payload(self, payload: Payload) -> None:
        if self.held is not None:
            self.held.append(payload)
        elif not self._ended:
            self.socket.push_payload(self._prefix, self._prefix_bytes, payload)

    @staticmethod
    def send_payload_to(operations: Sequence[LiveSubscription], payload: Payload) -> None:
        """`send_payload` on each operation. This is the hub's innermost loop, run once per
        socket and event, so the common case (a direct wire, nothing held back, the socket
        open) is written out here; every other case takes `send_payload`."""
        last_prefix = b""
        frame = b""
        for operation in operations:
            socket = operation.socket
            wire = socket._wire
            if operation.held is not None or operation._ended or socket._closing or wire is None:
                operation.send_payload(payload)
                continue
            prefix = operation._prefix_bytes
            if prefix != last_prefix:
                frame = payload.frame(prefix)
                last_prefix = prefix
            if not wire.send(frame, limit=socket.endpoint.max_outbox_frames):
                socket._overflowed()

    def send_now(self, payload: Payload) -> None:
        if not self._ended:
            self.socket.push_payload(self._prefix, self._prefix_bytes, payload)

    def end(self, error: GoChatError | None) -> None:
        if self._ended:
            return
        held, self.held = self.held or [], None
        for payload in held:
            self.send_now(payload)
        self._ended = True
        self.socket.operations.pop(self.op_id, None)
        if self.socket._revoked is not None:
            self.socket._revoked.set()
        if error is not None:
            self.socket.send_errors(self.op_id, [error])
        else:
            self.socket.send_complete(self.op_id)
        self.socket.spawn(self.socket.hub.detach(self))

    @property
    def ended(self) -> bool:
        return self._ended

    async def conclude(self, subject: str, event: SessionRevoked) -> bool:
        """Judge and deliver `event` as the hub would, for a socket about to close. True when
        the hub is delivering it right now and will end this operation."""
        feed = self.feed
        if self._ended or subject not in feed.subjects:
            return False
        verdict = await feed.admit(subject, event)
        ends = verdict.end or verdict.error is not None
        if feed.seen(event.event_id):
            return ends and not self._ended
        if verdict.deliver:
            root = feed.shape(event)
            if root is not None:
                payload, _ = await self.execute(root)
                self.send_payload(payload)
        if ends:
            self.end(verdict.error)
            if self.task is not None:
                self.task.cancel()
        return False

    async def stop(self) -> None:
        """The client stopped it, or the socket closed: no final frame."""
        self._ended = True
        if self.task is not None:
            self.task.cancel()
        else:
            await self.socket.hub.detach(self)

    async def run_alone(self, stream: FeedStream) -> None:
        try:
            async for root in stream:
                payload, _ = await self.execute(root)
                self.send_payload(payload)
        except GoChatError as exc:
            self.end(exc)
            return
        self.end(None)
