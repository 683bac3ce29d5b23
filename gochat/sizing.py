"""`gochat bench`: a short mixed load against a running deployment, reported per 1,000 users.

Simulated users are WebSocket connections, each holding the `events` subscription a client
keeps open, shared round-robin among a few real accounts (signing up costs an argon2 hash per
account and is rate limited per address). The accounts are spread over a few guilds; users
send messages at a steady average rate (Poisson arrivals), and every message must reach every
socket of its guild. The server's CPU and memory come from the processes' own /metrics
(`gochat_process_cpu_seconds_total`, `gochat_process_resident_memory_bytes`), scraped before
and after on every URL given; bandwidth is the GraphQL payload bytes the sockets and requests
carried (without TCP, TLS and HTTP framing).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets

from gochat.tasks import stop_task

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }"
CREATE_GUILD = (
    "mutation($n: String!) { createGuild(input: {name: $n}) { guild { id channels { id type } } } }"
)
CREATE_INVITE = (
    "mutation($c: ID!) { createInvite(input: {channelId: $c, maxUses: 0}) { invite { code } } }"
)
ACCEPT_INVITE = "mutation($c: String!) { acceptInvite(input: {code: $c}) { member { userId } } }"
SEND = (
    "mutation($c: ID!, $t: String!) "
    "{ sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"
)
EVENTS = "subscription { events { __typename ... on MessageCreated { message { content } } } }"
PASSWORD = "sizing-bench-password"  # noqa: S105 - the throwaway accounts' own
# Where the load goes and when: a shape, not a secret.
_load_shape = random.Random()  # noqa: S311
CPU_SERIES = "gochat_process_cpu_seconds_total"
RSS_SERIES = "gochat_process_resident_memory_bytes"


class SizingError(Exception):
    """The run could not be made; the message says what to change."""


@dataclass(frozen=True)
class Plan:
    url: str
    users: int = 200
    accounts: int = 20
    guilds: int = 4
    seconds: float = 30.0
    messages_per_user_minute: float = 2.0
    metrics_urls: Sequence[str] = ()

    def scraped(self) -> Sequence[str]:
        return self.metrics_urls or (f"{self.url.rstrip('/')}/metrics",)


@dataclass
class Guild:
    channel_id: str
    tokens: list[str]
    sockets: int = 0


@dataclass
class Traffic:
    bytes_received: int = 0
    bytes_sent: int = 0
    sends: int = 0
    send_errors: int = 0
    delivered: int = 0
    expected: int = 0
    send_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_bytes: float


@dataclass(frozen=True)
class Report:
    plan: Plan
    seconds: float
    idle: Usage
    connected: Usage
    loaded: Usage
    traffic: Traffic

    def per_thousand(self, value: float) -> float:
        return value * 1000 / self.plan.users

    def render(self) -> str:
        t, s = self.traffic, self.seconds
        cores = (self.loaded.cpu_seconds - self.connected.cpu_seconds) / s
        per_socket = (self.connected.rss_bytes - self.idle.rss_bytes) / self.plan.users
        down = t.bytes_received * 8 / s / 1e6
        up = t.bytes_sent * 8 / s / 1e6
        lines = [
            f"{self.plan.users} users on {self.plan.accounts} accounts"
            f" in {self.plan.guilds} guilds,"
            f" {s:.0f} s at {self.plan.messages_per_user_minute:g} messages per user per minute",
            f"  sends: {t.sends} ({t.sends / s:.1f}/s), {t.send_errors} failed;"
            f" p50 {_pct(t.send_ms, 0.5):.1f} ms, p99 {_pct(t.send_ms, 0.99):.1f} ms",
            f"  deliveries: {t.delivered:,} of {t.expected:,} ({t.delivered / s:,.0f}/s);"
            f" send to receive p50 {_pct(t.delivery_ms, 0.5):.1f} ms,"
            f" p99 {_pct(t.delivery_ms, 0.99):.1f} ms",
            f"  server: {cores:.3f} cores, RSS {self.loaded.rss_bytes / 2**20:.0f} MiB"
            f" ({self.idle.rss_bytes / 2**20:.0f} MiB before the sockets,"
            f" {per_socket / 1024:.1f} KiB per socket)",
            "per 1,000 users:",
            f"  CPU      {self.per_thousand(cores):.2f} cores",
            f"  memory   {per_socket * 1000 / 2**20:.0f} MiB for the sockets,"
            f" plus {self.idle.rss_bytes / 2**20:.0f} MiB per process",
            f"  network  {self.per_thousand(down):.2f} Mbit/s to clients,"
            f" {self.per_thousand(up):.2f} Mbit/s from them",
        ]
        return "\n".join(lines)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Api:
    def __init__(self, http: httpx.AsyncClient, url: str, traffic: Traffic) -> None:
        self._http, self._url, self._traffic = http, f"{url.rstrip('/')}/graphql", traffic

    async def call(self, query: str, variables: dict[str, Any], token: str = "") -> Any:
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SizingError(f"{self._url}: {exc!r}") from exc
        self._traffic.bytes_sent += len(body)
        self._traffic.bytes_received += len(response.content)
        try:
            answer: dict[str, Any] = response.json()
        except ValueError as exc:
            raise SizingError(f"{self._url} answered {response.status_code}, not GraphQL") from exc
        for error in answer.get("errors") or []:
            code = (error.get("extensions") or {}).get("code", "")
            if code == "RATE_LIMITED" and query in {REGISTER, LOGIN}:
                raise SizingError(
                    "signing up the bench's accounts was rate limited: lower --accounts, or let "
                    "this address register and sign in more often while the bench runs "
                    "(GOCHAT_RATE_REGISTER_PER_IP, GOCHAT_RATE_LOGIN_PER_IP)"
                )
            raise SizingError(f"{code or 'error'}: {error.get('message')}")
        return answer["data"]


async def _account(api: _Api, tag: str, n: int) -> str:
    email = f"sizing-{tag}-{n}@example.com"
    account = {"email": email, "handle": f"sz{tag}{n}", "displayName": f"Sizing {n}"}
    await api.call(REGISTER, {"i": {**account, "password": PASSWORD}})
    login = await api.call(LOGIN, {"i": {"email": email, "password": PASSWORD}})
    token: str = login["login"]["session"]["accessToken"]
    return token


async def _guilds(api: _Api, plan: Plan) -> list[Guild]:
    tag = secrets.token_hex(3)
    tokens = [await _account(api, tag, n) for n in range(plan.accounts)]
    guilds = []
    for g in range(plan.guilds):
        members = tokens[g :: plan.guilds]
        made = await api.call(CREATE_GUILD, {"n": f"Sizing {tag} {g}"}, members[0])
        channel = next(
            c["id"] for c in made["createGuild"]["guild"]["channels"] if c["type"] == "TEXT"
        )
        invite = await api.call(CREATE_INVITE, {"c": channel}, members[0])
        code = invite["createInvite"]["invite"]["code"]
        for token in members[1:]:
            await api.call(ACCEPT_INVITE, {"c": code}, token)
        guilds.append(Guild(channel, members))
    return guilds


async def _scrape(http: httpx.AsyncClient, urls: Sequence[str]) -> Usage:
    cpu = rss = 0.0
    for url in urls:
        try:
            response = await http.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SizingError(f"cannot read {url} (GOCHAT_METRICS_ENABLED?): {exc!r}") from exc
        values = _series(response.text)
        if CPU_SERIES not in values or RSS_SERIES not in values:
            raise SizingError(f"{url} has no {CPU_SERIES} / {RSS_SERIES}: is it GoChat's /metrics?")
        cpu += values[CPU_SERIES]
        rss += values[RSS_SERIES]
    return Usage(cpu, rss)


def _series(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            if "{" not in name:
                found[name] = float(value)
    return found


class _Socket:
    def __init__(self, url: str, token: str, guild: Guild, traffic: Traffic) -> None:
        self._url, self._token, self._guild, self._traffic = url, token, guild, traffic
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.failure: BaseException | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await stop_task(self._task)

    async def _run(self) -> None:
        try:
            async with websockets.connect(
                self._url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
            ) as socket:
                init = {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {self._token}"},
                }
                await self._send(socket, init)
                await self._send(
                    socket, {"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}
                )
                await self._send(socket, {"type": "ping"})
                async for raw in socket:
                    self._traffic.bytes_received += len(raw)
                    self._handle(json.loads(raw))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported by the run, whatever broke the socket
            self.failure = exc
            self.ready.set()

    async def _send(self, socket: Any, message: dict[str, Any]) -> None:
        raw = json.dumps(message)
        self._traffic.bytes_sent += len(raw)
        await socket.send(raw)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "pong":
            self.ready.set()
        elif kind == "next":
            event = message["payload"]["data"]["events"]
            if event.get("__typename") == "MessageCreated":
                sent = self._traffic.sent_at.get(event["message"]["content"])
                if sent is not None:
                    self._traffic.delivered += 1
                    self._traffic.delivery_ms.append((time.perf_counter() - sent) * 1000)
        elif kind in {"error", "complete"}:
            self.failure = RuntimeError(f"the events stream ended: {message}")


async def _send_load(api: _Api, plan: Plan, guilds: list[Guild], traffic: Traffic) -> None:
    rate = plan.users * plan.messages_per_user_minute / 60
    deadline = time.perf_counter() + plan.seconds
    pending: set[asyncio.Task[None]] = set()
    sockets = [guild for guild in guilds for _ in range(guild.sockets)]

    async def send(guild: Guild) -> None:
        content = f"sizing {secrets.token_hex(8)} at {datetime.now(UTC).isoformat()}"
        started = time.perf_counter()
        traffic.sent_at[content] = started
        try:
            await api.call(
                SEND, {"c": guild.channel_id, "t": content}, _load_shape.choice(guild.tokens)
            )
        except SizingError:
            traffic.send_errors += 1
            del traffic.sent_at[content]
            return
        traffic.sends += 1
        traffic.expected += guild.sockets
        traffic.send_ms.append((time.perf_counter() - started) * 1000)

    while (now := time.perf_counter()) < deadline:
        await asyncio.sleep(min(_load_shape.expovariate(rate), deadline - now))
        task = asyncio.create_task(send(_load_shape.choice(sockets)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)


async def run(plan: Plan, *, drain_seconds: float = 30.0) -> Report:
    """Sign up, connect, load, measure; SizingError when any of it cannot be done."""
    traffic = Traffic()
    ws_url = (
        plan.url.rstrip("/").replace("https://", "wss://").replace("http://", "ws://") + "/graphql"
    )
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
        api = _Api(http, plan.url, traffic)
        guilds = await _guilds(api, plan)
        idle = await _scrape(http, plan.scraped())
        sockets = []
        for n in range(plan.users):
            guild = guilds[n % len(guilds)]
            guild.sockets += 1
            sockets.append(
                _Socket(ws_url, guild.tokens[n // len(guilds) % len(guild.tokens)], guild, traffic)
            )
        try:
            for socket in sockets:
                socket.start()
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in sockets)), 120)
            _raise_failures(sockets)
            traffic.bytes_received = traffic.bytes_sent = 0
            connected = await _scrape(http, plan.scraped())
            started = time.perf_counter()
            await _send_load(api, plan, guilds, traffic)
            seconds = time.perf_counter() - started
            loaded = await _scrape(http, plan.scraped())
            give_up = time.perf_counter() + drain_seconds
            while traffic.delivered < traffic.expected and time.perf_counter() < give_up:
                _raise_failures(sockets)
                await asyncio.sleep(0.05)
        finally:
            await asyncio.gather(*(s.stop() for s in sockets))
    _raise_failures(sockets)
    if traffic.delivered < traffic.expected:
        missing = traffic.expected - traffic.delivered
        raise SizingError(f"{missing:,} of {traffic.expected:,} deliveries never arrived")
    return Report(plan, seconds, idle, connected, loaded, traffic)


def _raise_failures(sockets: list[_Socket]) -> None:
    failed = [s.failure for s in sockets if s.failure is not None]
    if failed:
        raise SizingError(f"{len(failed)} sockets failed, the first with {failed[0]!r}")
