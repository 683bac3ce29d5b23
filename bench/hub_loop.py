"""The hub's Python cost per socket and event, without the network (not a test).

    python bench/hub_loop.py [--sockets 1000] [--events 200] [--repeats 5]

One process, no server: `--sockets` live subscriptions of one document on one subject, each on
a direct wire whose transport counts writes instead of making system calls, and the hub's own
dispatch (plan, verdict, execution once per document, the send loop, the end-of-iteration
flush) for `--events` events. The figure is microseconds of wall time per socket and event,
the best and the median of `--repeats` rounds: what the interpreter spends per frame on top of
the `write` system call, which `bench/realtime.py` measures with it. Repeatable to a few
percent on an idle core, so a change to the delivery loop can be judged here first.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from typing import Any

from gochat.bus import Envelope
from gochat.subscriptions import hub as hub_module
from gochat.subscriptions.connection import LiveSocket
from gochat.subscriptions.feeds import DELIVER, Admission, Feed
from gochat.subscriptions.operations import LiveSubscription
from gochat.subscriptions.wire import DirectWire, Flusher, Payload

PAYLOAD = (
    '{"data":{"channelEvents":{"__typename":"MessageCreated",'
    '"message":{"id":"386605741353476096","content":"rt 1 1764700000000000000"}}}}'
)


class CountingTransport:
    __slots__ = ("writes",)

    def __init__(self) -> None:
        self.writes = 0

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.writes += 1


class OpenProtocol:
    """What DirectWire reads of uvicorn's protocol: an open, writable connection."""

    def __init__(self) -> None:
        self.close_sent = False
        self.transport = CountingTransport()
        self.writable = asyncio.Event()
        self.writable.set()


class Endpoint:
    max_outbox_frames = 4096


class SameFeed(Feed):
    """Every socket's feed reaches the same verdict: deliver."""

    __slots__ = ()

    def verdict_key(self) -> tuple[str]:
        return ("all",)

    async def admit(self, subject: str, event: Any) -> Admission:
        return DELIVER


class Event:
    def __init__(self, event_id: int) -> None:
        self.event_id = event_id


class Audience:
    def before(self, event: object) -> None: ...

    def after(self, event: object) -> None: ...

    def forget_all(self) -> None: ...


class Bus:
    def on_reconnect(self, callback: object) -> Any:
        return lambda: None


def subscription(flusher: Flusher, serial: int) -> LiveSubscription:
    # Built field by field: a real LiveSocket needs a Starlette WebSocket and the services.
    socket = object.__new__(LiveSocket)
    socket._wire = DirectWire(OpenProtocol(), flusher)
    socket._closing = False
    socket.endpoint = Endpoint  # type: ignore[assignment]
    socket.serial = serial
    operation = object.__new__(LiveSubscription)
    operation.socket = socket
    operation.held = None
    operation._ended = False
    operation.op_id = "1"
    operation._prefix = '{"id":"1","type":"next","payload":'
    operation._prefix_bytes = operation._prefix.encode()
    operation.feed = SameFeed(viewer=None, audience=None, shape=lambda e: e)  # type: ignore[arg-type]
    operation.feed.subjects.add("subject")
    operation.document_key = "document"
    return operation


async def measure(sockets: int, events: int, repeats: int) -> list[float]:
    async def execute(self: LiveSubscription, root: object) -> tuple[Payload, bool]:
        return Payload(PAYLOAD), False  # GraphQL runs once per event: not what is measured

    LiveSubscription.execute = execute  # type: ignore[method-assign]
    ids = itertools.count(1)
    hub_module.decode = lambda payload: Event(next(ids))  # type: ignore[assignment,return-value]
    flusher = Flusher()
    operations = [subscription(flusher, n) for n in range(sockets)]
    hub = hub_module.Hub(Bus(), Audience())  # type: ignore[arg-type]
    topic = hub_module._Topic("subject")
    for operation in operations:
        topic.add(operation)

    async def one_event() -> None:
        envelope = Envelope(subject="subject", event_id=next(ids) + 10**12, payload=b"{}")
        await hub._dispatch(topic, envelope)
        await asyncio.sleep(0)  # the flusher writes at the end of the loop iteration

    for _ in range(20):
        await one_event()
    rounds = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(events):
            await one_event()
        rounds.append((time.perf_counter() - started) / (events * sockets) * 1e6)
    writes = sum(op.socket._wire._protocol.transport.writes for op in operations)  # type: ignore[union-attr]
    expected = (20 + events * repeats) * sockets
    if writes != expected:
        raise RuntimeError(f"{writes} writes, expected {expected}")
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rounds = asyncio.run(measure(args.sockets, args.events, args.repeats))
    print(
        f"{args.sockets:,} sockets x {args.events} events: "
        f"best {min(rounds):.3f} us, median {statistics.median(rounds):.3f} us per socket and event "
        f"(rounds: {', '.join(f'{r:.3f}' for r in rounds)})"
    )


if __name__ == "__main__":
    main()
