"""Soak benchmark (not a test): does an embedded server's memory stay flat under steady live
delivery?

    python bench/soak.py [--seconds 600] [--warm-up 120] [--subscribers 8] [--rate 34]
        [--sample-every 5] [--json FILE]

Starts `gochat serve` as a subprocess on SQLite (the embedded defaults: in-process bus,
memory presence and rate limits), opens --subscribers WebSockets (graphql-transport-ws), each
a different member of one guild subscribed to `events` with a client-like selection, and sends
--rate messages a second into the guild's text channel from one author for --seconds. The
server's VmRSS is read from /proc every --sample-every seconds. The figure is the growth
after --warm-up: the least-squares slope of RSS over time, in MB per minute, and per message
sent and per event delivered, over the whole window and over its second half (a leak is
linear; a cache that warms up flattens). A server that keeps nothing per event shows about 0.

Every subscriber's `next` frames are counted: the run is valid only when each received every
message (the sender is paced, so a server that falls behind shows as a lower achieved rate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

PASSWORD = "benchmark-password"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }"
CREATE_GUILD = (
    'mutation { createGuild(input: {name: "Soak"}) { guild { id channels { id type } } } }'
)
CREATE_INVITE = "mutation($c: ID!) { createInvite(input: {channelId: $c}) { invite { code } } }"
ACCEPT_INVITE = "mutation($k: String!) { acceptInvite(input: {code: $k}) { member { userId } } }"
SEND = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"
EVENTS = """subscription { events { __typename
  ... on MessageCreated { message { id content channelId createdAt author { id handle displayName }
    mentions { everyone } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Server:
    url: str
    pid: int


@contextmanager
def serve(work: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "GOCHAT_DATABASE_URL": f"sqlite:///{work / 'gochat.db'}",
        "GOCHAT_DATA_DIR": str(work / "data"),
        "GOCHAT_LOG_LEVEL": "warning",
        "GOCHAT_ACCESS_TOKEN_TTL_SECONDS": "86400",
        "GOCHAT_RATE_LOGIN_PER_IP": "10000/60",
        "GOCHAT_RATE_REGISTER_PER_IP": "10000/60",
    }
    command = [sys.executable, "-m", "gochat", "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError("server exited during start-up")
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


async def gql(
    http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any], token: str = ""
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    data: dict[str, Any] = body["data"]
    return data


async def signed_up(http: httpx.AsyncClient, url: str, handle: str) -> str:
    email = f"{handle}@example.com"
    user = {"email": email, "handle": handle, "displayName": handle, "password": PASSWORD}
    await gql(http, url, REGISTER, {"i": user})
    login = await gql(http, url, LOGIN, {"i": {"email": email, "password": PASSWORD}})
    return str(login["login"]["session"]["accessToken"])


@dataclass
class Audience:
    author: str
    channel_id: str
    members: list[str]


async def make_audience(url: str, members: int) -> Audience:
    run = secrets.token_hex(3)
    async with httpx.AsyncClient(timeout=30) as http:
        author = await signed_up(http, url, f"soak_{run}_author")
        guild = (await gql(http, url, CREATE_GUILD, {}, author))["createGuild"]["guild"]
        channel_id = next(c["id"] for c in guild["channels"] if c["type"] == "TEXT")
        tokens = []
        for i in range(members):
            token = await signed_up(http, url, f"soak_{run}_{i}")
            invite = await gql(http, url, CREATE_INVITE, {"c": channel_id}, author)
            code = invite["createInvite"]["invite"]["code"]
            await gql(http, url, ACCEPT_INVITE, {"k": code}, token)
            tokens.append(token)
    return Audience(author, channel_id, tokens)


@dataclass
class Subscriber:
    token: str
    frames: int = 0
    errors: list[str] = field(default_factory=list)

    async def run(self, url: str, live: asyncio.Event) -> None:
        ws_url = url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}
            await ws.send(json.dumps(init))
            ack = json.loads(await ws.recv())
            assert ack["type"] == "connection_ack", ack
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
            )
            live.set()
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message.get("type") == "next":
                    if "errors" in message["payload"]:
                        self.errors.append(str(message["payload"]["errors"]))
                    self.frames += 1
                elif message.get("type") in {"error", "complete"}:
                    self.errors.append(str(message))
                    return


async def wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def slope_per_second(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS (bytes) over time (seconds)."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (r - mean_r) for t, r in samples)
    return cov / var if var else 0.0


async def soak(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    audience = await make_audience(server.url, args.subscribers)
    subscribers = [Subscriber(token) for token in audience.members]
    lives = [asyncio.Event() for _ in subscribers]
    tasks = [
        asyncio.create_task(s.run(server.url, live))
        for s, live in zip(subscribers, lives, strict=True)
    ]
    samples: list[tuple[float, int]] = []
    sent = 0
    failed = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for live in lives:
            await asyncio.wait_for(live.wait(), 30)
        # Live on the hub once a probe reaches every subscriber.
        for attempt in range(100):
            await gql(
                http,
                server.url,
                SEND,
                {"c": audience.channel_id, "t": f"probe {attempt}"},
                audience.author,
            )
            if await wait_until(lambda: all(s.frames > 0 for s in subscribers), 1.0):
                break
        else:
            raise RuntimeError("subscriptions never became live")
        baseline = [s.frames for s in subscribers]
        start = time.monotonic()
        next_sample = start

        async def sample() -> None:
            nonlocal next_sample
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    samples.append((now - start, rss_bytes(server.pid)))
                    next_sample += args.sample_every
                await asyncio.sleep(max(0.0, next_sample - time.monotonic()))

        sampler = asyncio.create_task(sample())
        interval = 1.0 / args.rate
        while (now := time.monotonic()) - start < args.seconds:
            due = start + sent * interval
            if due > now:
                await asyncio.sleep(due - now)
            try:
                await gql(
                    http,
                    server.url,
                    SEND,
                    {"c": audience.channel_id, "t": f"soak {sent}"},
                    audience.author,
                )
            except (RuntimeError, httpx.HTTPError):
                failed += 1
            sent += 1
        elapsed = time.monotonic() - start
        sampler.cancel()
        delivered_ok = await wait_until(
            lambda: all(
                s.frames - b >= sent - failed for s, b in zip(subscribers, baseline, strict=True)
            ),
            60,
        )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    after = [(t, r) for t, r in samples if t >= args.warm_up]
    per_second = slope_per_second(after) if len(after) >= 2 else 0.0
    # A leak grows linearly; caches that warm up (SQLite's pages, the hub's 120 s window of
    # event ids) grow less and less. The second half of the window tells them apart.
    late = after[len(after) // 2 :]
    late_per_second = slope_per_second(late) if len(late) >= 2 else 0.0
    delivered = sum(s.frames - b for s, b in zip(subscribers, baseline, strict=True))
    achieved = (sent - failed) / elapsed
    return {
        "subscribers": args.subscribers,
        "rate_target": args.rate,
        "rate_achieved": round(achieved, 1),
        "seconds": round(elapsed),
        "warm_up_seconds": args.warm_up,
        "messages": sent - failed,
        "failed_sends": failed,
        "delivered_events": delivered,
        "every_subscriber_got_every_message": delivered_ok,
        "subscriber_errors": [e for s in subscribers for e in s.errors][:5],
        "rss_start_mb": round(samples[0][1] / 2**20, 1),
        "rss_after_warm_up_mb": round(after[0][1] / 2**20, 1) if after else None,
        "rss_end_mb": round(samples[-1][1] / 2**20, 1),
        "growth_mb_per_minute": round(per_second * 60 / 2**20, 3),
        "growth_bytes_per_message": round(per_second / achieved),
        "growth_bytes_per_delivered_event": round(per_second / (achieved * args.subscribers)),
        "growth_mb_per_minute_second_half": round(late_per_second * 60 / 2**20, 3),
        "growth_bytes_per_message_second_half": round(late_per_second / achieved),
        "samples": [(round(t, 1), r) for t, r in samples],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--warm-up", type=float, default=120)
    parser.add_argument("--subscribers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=34)
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--json", type=Path, help="also write the result (with samples) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gochat-soak-") as tmp, serve(Path(tmp)) as server:
        result = asyncio.run(soak(server, args))
    result["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    result["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    shown = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(shown, indent=2))
    print(
        f"RSS {result['rss_start_mb']} -> {result['rss_end_mb']} MB over {result['seconds']} s; "
        f"after {args.warm_up:.0f} s of warm-up: {result['growth_mb_per_minute']} MB/min, "
        f"{result['growth_bytes_per_message']} B per message, "
        f"{result['growth_bytes_per_delivered_event']} B per delivered event; in the second half "
        f"of that: {result['growth_mb_per_minute_second_half']} MB/min, "
        f"{result['growth_bytes_per_message_second_half']} B per message"
    )


if __name__ == "__main__":
    main()
