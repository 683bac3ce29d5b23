"""When a core NATS subscriber gets a message the GOCHAT_EVENTS stream also stores (not a test).

    python bench/bus_delivery.py [--messages 3000] [--interval-ms 3] [--runs 3]

One connection publishes, another one subscribes, on a NATS server of its own (file storage, as
`gochat serve` creates the stream). Messages alternate between two shapes:
  stream   a JetStream publish on a subject the stream captures (what `NatsEventBus.publish`
           sends for a durable event; the subscriber listens on that subject)
  core     a plain core publish on a subject the stream does not capture, followed by the same
           JetStream publish on a captured subject nobody listens to (a separate live subject)
For each shape: publish-to-receipt p50/p90/p99, and for the stream shape how many receipts came
before the publisher had the stream's acknowledgement. Figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import nats
from nats.js.api import StorageType, StreamConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.engines import nats_server


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


async def one_run(url: str, messages: int, interval: float, run: int) -> dict[str, float]:
    publisher, subscriber = await nats.connect(url), await nats.connect(url)
    js = publisher.jetstream()
    stream = f"PROBE{run}"
    await js.add_stream(StreamConfig(name=stream, subjects=[f"d{run}.>"], storage=StorageType.FILE))
    received: dict[int, float] = {}
    acked: dict[int, float] = {}
    every_one = asyncio.Event()

    async def arrived(msg: nats.aio.msg.Msg) -> None:
        received[int(msg.data)] = time.perf_counter()
        if len(received) == messages:
            every_one.set()

    await subscriber.subscribe(f"d{run}.live", cb=arrived)
    await subscriber.subscribe(f"l{run}.live", cb=arrived)
    await subscriber.flush()
    sent: dict[int, float] = {}
    for i in range(messages):
        payload = str(i).encode()
        headers = {"Nats-Msg-Id": str(i)}
        sent[i] = time.perf_counter()
        if i % 2 == 0:
            future = await js.publish_async(f"d{run}.live", payload, stream=stream, headers=headers)
            future.add_done_callback(lambda _, i=i: acked.setdefault(i, time.perf_counter()))
        else:
            await publisher.publish(f"l{run}.live", payload, headers={"Gochat-Event-Id": str(i)})
            await js.publish_async(f"d{run}.stored", payload, stream=stream, headers=headers)
        await asyncio.sleep(interval)
    await js.publish_async_completed()
    await asyncio.wait_for(every_one.wait(), 30)
    await publisher.close()
    await subscriber.close()
    stream_ms = [(received[i] - sent[i]) * 1000 for i in sent if i % 2 == 0]
    core_ms = [(received[i] - sent[i]) * 1000 for i in sent if i % 2 == 1]
    before_ack = sum(received[i] <= acked[i] for i in acked)
    return {
        "stream_p50": percentile(stream_ms, 50),
        "stream_p90": percentile(stream_ms, 90),
        "stream_p99": percentile(stream_ms, 99),
        "core_p50": percentile(core_ms, 50),
        "core_p90": percentile(core_ms, 90),
        "core_p99": percentile(core_ms, 99),
        "stream_before_ack_share": before_ack / len(acked),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--interval-ms", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with open("/proc/loadavg") as loadavg:
        print(f"load average before: {' '.join(loadavg.read().split()[:3])}")
    results = []
    with nats_server() as server:
        for run in range(args.runs):
            result = asyncio.run(one_run(server.url, args.messages, args.interval_ms / 1000, run))
            results.append(result)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()))
    print(
        "median: "
        + ", ".join(f"{k} {statistics.median(r[k] for r in results):.2f}" for k in results[0])
    )


if __name__ == "__main__":
    main()
