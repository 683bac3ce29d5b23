"""Embed benchmark (not a test): how soon a link's embed reaches `events`, and how many messages
with links the embedder turns into embeds per second.

    python bench/embeds.py [--latency 200] [--messages 1000] [--concurrency 16]

One `gochat serve` process (SQLite, its in-process embedder) and, in this process, a page
server on 127.0.0.2 (the only network the server is allowed to fetch from here) that answers
every path with a small OpenGraph page. Every message links a path of its own, so no answer
comes from the embedder's cache.

- Latency: `--latency` messages sent one after another; for each, the time from sending it to
  the MessageUpdated with its embed arriving on an `events` subscription of the sender.
  Reported: p50, p99 and worst. The target is p99 under 1 s.
- Throughput: `--messages` messages sent by `--concurrency` senders at once; the time from the
  first send to the last embed seen on `events`. Reported: messages with embeds per second.
  Every link is on the one page server, so GOCHAT_EMBED_FETCH_PER_HOST (`--per-host`, default
  2, as configured by default) bounds it by design: a site gets few fetches of ours at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from messages import serve, setup_user_and_channel

from tests.support.pages import Page, PageServer, page_server

PUBLIC = "127.0.0.2"
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
EVENTS = """subscription { events { __typename
  ... on MessageUpdated { message { id embeds { title } } } } }"""
PAGE = b"""<html><head><meta property="og:title" content="Benchmark page">
<meta property="og:description" content="A page made for the embed benchmark"></head></html>"""


class Watcher:
    """Records when each message's embed arrived on the events stream."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, message_id: str) -> asyncio.Future[float]:
        future = self.waiting.get(message_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.waiting[message_id] = future
            if message_id in self.arrived:
                future.set_result(self.arrived[message_id])
        return future

    async def run(self, url: str, token: str) -> None:
        ws_url = url.replace("http", "ws", 1) + "/graphql"
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            await ws.recv()
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
            )
            self.ready.set()
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") != "next":
                    continue
                event = message["payload"]["data"]["events"]
                if event["__typename"] != "MessageUpdated" or not event["message"]["embeds"]:
                    continue
                now = time.perf_counter()
                message_id = event["message"]["id"]
                self.arrived.setdefault(message_id, now)
                future = self.waiting.get(message_id)
                if future is not None and not future.done():
                    future.set_result(now)

    ready: asyncio.Event


async def _send(http: httpx.AsyncClient, url: str, token: str, channel: str, link: str) -> str:
    r = await http.post(
        f"{url}/graphql",
        json={"query": SEND, "variables": {"c": channel, "t": f"look {link}"}},
        headers={"authorization": f"Bearer {token}"},
    )
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return str(body["data"]["sendMessage"]["message"]["id"])


async def measure(url: str, site: PageServer, args: argparse.Namespace) -> None:
    token, _, channel = await setup_user_and_channel(url)
    watcher = Watcher()
    watcher.ready = asyncio.Event()
    watching = asyncio.create_task(watcher.run(url, token))
    await watcher.ready.wait()
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(timeout=30) as http:
        latencies = []
        for i in range(args.latency):
            started = time.perf_counter()
            message_id = await _send(http, url, token, channel, site.url(f"/latency/{i}"))
            arrived = await asyncio.wait_for(watcher.expect(message_id), 30)
            latencies.append(arrived - started)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"send -> embed on events, {args.latency} messages: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"worst {latencies[-1] * 1000:.0f} ms"
        )

        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(args.messages):
            queue.put_nowait(i)
        ids: list[str] = []

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                ids.append(await _send(http, url, token, channel, site.url(f"/load/{i}")))

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(args.concurrency)))
        sent = time.perf_counter() - started
        last = max(await asyncio.wait_for(asyncio.gather(*(watcher.expect(m) for m in ids)), 300))
        total = last - started
        print(
            f"{args.messages} messages with links, {args.concurrency} senders: sent in "
            f"{sent:.1f} s, every embed on events after {total:.1f} s "
            f"({args.messages / total:.0f} messages with embeds/s)"
        )
    watching.cancel()


async def main_async(args: argparse.Namespace) -> None:
    async with page_server(PUBLIC) as site:
        site.default = Page(PAGE)
        with tempfile.TemporaryDirectory() as work:
            os.environ["GOCHAT_EMBED_FETCH_ALLOWED_NETWORKS"] = json.dumps([f"{PUBLIC}/32"])
            os.environ["GOCHAT_EMBED_FETCH_PER_HOST"] = str(args.per_host)
            with serve(f"sqlite:///{work}/gochat.db", Path(work) / "data") as server:
                await measure(server.url, site, args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--per-host",
        type=int,
        default=2,
        help="GOCHAT_EMBED_FETCH_PER_HOST: every link here is on one host, so this bounds it",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
