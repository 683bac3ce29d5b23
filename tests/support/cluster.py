"""Several real `gochat serve` processes sharing one database, one NATS and one Redis.

Each process is the installed CLI (`python -m gochat serve`) on its own free port, with its own
GOCHAT_WORKER_ID and data directory, started the way an operator starts a cluster node. Its
output goes to a log file that failure messages quote. `restart()` brings a process back on the
same port (optionally with other settings, e.g. without a fault), as a supervisor would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from tests.support.client import GraphQLClient, WsSession, ws_connect
from tests.support.engines import free_port

STREAM = "GOCHAT_EVENTS"  # the stream `gochat serve` creates on NATS (README, GOCHAT_BUS_URL)
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_TAIL_CHARS = 4000

EVENTS = "subscription { events { __typename ... on UserUpdated { user { id displayName } } } }"
UPDATE_PROFILE = (
    "mutation($n: String!) { updateProfile(input: {displayName: $n}) { user { displayName } } }"
)


class GochatProcess:
    """One `gochat serve` subprocess on a fixed port."""

    def __init__(self, name: str, root: Path, port: int, env: dict[str, str]) -> None:
        self.name = name
        self.root = root
        self.port = port
        self.env = env
        self.log_path = root / "serve.log"
        self.returncode: int | None = None
        self.last_start_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def client(self, http: httpx.AsyncClient, token: str | None = None) -> GraphQLClient:
        return GraphQLClient(self.url, http, token)

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    async def start(self, *, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start and wait until /ready answers 200; raise with the log tail otherwise."""
        assert not self.running, f"{self.name} is already running"
        begun = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {self.name} start {self.env_summary()} =====\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "gochat", "serve", "--port", str(self.port)],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.returncode = None
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                if self._proc.poll() is not None:
                    self.returncode = self._proc.returncode
                    raise RuntimeError(
                        f"{self.name} exited with {self.returncode} during startup:\n"
                        + self.log_tail()
                    )
                if time.monotonic() - begun > timeout:
                    await self.stop()
                    raise RuntimeError(f"{self.name} not ready in {timeout} s:\n{self.log_tail()}")
                try:
                    if (await http.get(f"{self.url}/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        self.last_start_seconds = time.monotonic() - begun

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS; the exit status."""
        proc = self._proc
        if proc is None:
            return self.returncode
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        self.returncode = proc.returncode
        self._proc = None
        return self.returncode

    async def kill(self) -> None:
        """SIGKILL: a crash, nothing cleaned up (its presence sessions are left to lapse)."""
        proc = self._proc
        assert proc is not None, f"{self.name} was not started"
        proc.kill()
        await asyncio.to_thread(proc.wait)
        self.returncode = proc.returncode
        self._proc = None

    async def wait_exited(self, timeout: float) -> int:
        """The exit status of a process expected to end by itself (a crash)."""
        proc = self._proc
        assert proc is not None, f"{self.name} was not started"
        try:
            await asyncio.to_thread(proc.wait, timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running after {timeout} s:\n{self.log_tail()}"
            ) from None
        self.returncode = proc.returncode
        self._proc = None
        return self.returncode

    async def restart(self, *, env: Mapping[str, str | None] | None = None) -> None:
        """Stop (if running) and start again on the same port and data directory; `env`
        changes settings for the new run (None removes one)."""
        await self.stop()
        for key, value in (env or {}).items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        await self.start()

    def env_summary(self) -> str:
        shown = ("GOCHAT_WORKER_ID", "GOCHAT_FAULT_INJECTION")
        return " ".join(f"{k}={self.env[k]}" for k in shown if k in self.env)


@dataclass
class Cluster:
    """Processes sharing the same engines and the same JWT key (a token from one is valid on
    every other), each with its own worker id."""

    root: Path
    database_url: str
    bus_url: str
    redis_url: str | None
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[GochatProcess] = field(default_factory=list)
    jwt_secret: str = field(default_factory=lambda: "cluster-secret-" + uuid.uuid4().hex)

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
        env.update(
            {
                "GOCHAT_DATABASE_URL": self.database_url,
                "GOCHAT_BUS_URL": self.bus_url,
                "GOCHAT_JWT_SECRET": self.jwt_secret,
                "GOCHAT_LOG_LEVEL": "info",
                # Every test client is 127.0.0.1, and Redis counts across the session's tests.
                "GOCHAT_RATE_REGISTER_PER_IP": "100000/3600",
                "GOCHAT_RATE_LOGIN_PER_IP": "100000/60",
                # Fast relay passes, so a delayed event shows up within a test's patience.
                "GOCHAT_OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
                "GOCHAT_OUTBOX_RELAY_GRACE_SECONDS": "1",
            }
        )
        if self.redis_url is not None:
            env["GOCHAT_REDIS_URL"] = self.redis_url
        env.update(self.settings)
        return env

    def add(self, name: str | None = None, **settings: str) -> GochatProcess:
        """A process not yet started; `settings` are GOCHAT_* names without the prefix."""
        index = len(self.processes)
        name = name or f"node{index}"
        root = self.root / name
        (root / "data").mkdir(parents=True)
        env = self.base_env()
        env["GOCHAT_WORKER_ID"] = str(index + 1)
        env["GOCHAT_DATA_DIR"] = str(root / "data")
        env.update({f"GOCHAT_{k.upper()}": v for k, v in settings.items()})
        process = GochatProcess(name, root, free_port(), env)
        self.processes.append(process)
        return process

    async def start(self, count: int, **settings: str) -> list[GochatProcess]:
        """Start `count` more processes in parallel."""
        started = [self.add(**settings) for _ in range(count)]
        await asyncio.gather(*(p.start() for p in started))
        return started

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes))

    def logs(self) -> str:
        return "\n".join(
            f"----- {p.name} ({p.url}, exit {p.returncode}) -----\n{p.log_tail()}"
            for p in self.processes
        )


@asynccontextmanager
async def running_cluster(
    root: Path, *, database_url: str, bus_url: str, redis_url: str | None
) -> AsyncIterator[Cluster]:
    """A Cluster whose processes are all stopped on exit; their logs go to stderr, which
    pytest shows with a failing test."""
    cluster = Cluster(root, database_url=database_url, bus_url=bus_url, redis_url=redis_url)
    try:
        yield cluster
    finally:
        await cluster.stop()
        sys.stderr.write(cluster.logs() + "\n")


@dataclass
class EventStream:
    """One `events` subscription (graphql-transport-ws) on one process."""

    session: WsSession
    op_id: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, *, timeout: float = 15.0) -> dict[str, Any]:
        """The next event's data (`{"__typename": ..., ...}`); fails on error or complete."""
        message = await self.session.receive(self.op_id, timeout=timeout)
        assert message["type"] == "next", f"subscription ended: {message}"
        assert "errors" not in message["payload"], message
        event: dict[str, Any] = message["payload"]["data"]["events"]
        self.seen.append(event)
        return event

    async def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], *, timeout: float
    ) -> dict[str, Any]:
        """The first event for which `wanted` holds, skipping others (duplicates, events of
        other changes); AssertionError listing what arrived when none does in time."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = await self.next(timeout=max(left, 0.01))
            except TimeoutError:
                raise AssertionError(
                    f"no wanted event within {timeout} s; received {self.seen}"
                ) from None
            if wanted(event):
                return event


@asynccontextmanager
async def subscribed(
    process: GochatProcess,
    token: str,
    query: str = EVENTS,
    variables: dict[str, Any] | None = None,
) -> AsyncIterator[EventStream]:
    async with ws_connect(process.ws_url, payload={"authorization": f"Bearer {token}"}) as ws:
        op_id = await ws.subscribe(query, variables)
        yield EventStream(ws, op_id)


def profile_updated(display_name: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the UserUpdated event carrying this display name."""

    def matches(event: dict[str, Any]) -> bool:
        return (
            event.get("__typename") == "UserUpdated"
            and event["user"]["displayName"] == display_name
        )

    return matches


async def update_profile(client: GraphQLClient, display_name: str) -> None:
    result = await client.execute(UPDATE_PROFILE, {"n": display_name})
    assert result.ok()["updateProfile"]["user"]["displayName"] == display_name


async def prime(
    stream: EventStream,
    act: Callable[[str], Awaitable[object]],
    *,
    matcher: Callable[[str], Callable[[dict[str, Any]], bool]] = profile_updated,
    timeout: float = 30.0,
) -> None:
    """Wait until the subscription is live on the bus: repeat a change (`act(label)`) until the
    stream shows its event (`matcher(label)`). graphql-transport-ws has no 'subscribed'
    message, and a change made before the server's bus subscription exists is not delivered."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        label = f"probe {attempt} {uuid.uuid4().hex[:6]}"
        await act(label)
        with contextlib.suppress(AssertionError):
            await stream.wait_for(matcher(label), timeout=0.5)
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"subscription never became live; received {stream.seen}")


async def stream_payloads(nats_url: str, subject: str) -> list[bytes]:
    """Every message the GOCHAT_EVENTS stream holds on `subject`, read with an ordered
    consumer, and checked against the stream's own per-subject count."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM, subjects_filter=subject)
        expected = (info.state.subjects or {}).get(subject, 0)
        payloads: list[bytes] = []
        if expected:
            sub = await js.subscribe(subject, stream=STREAM, ordered_consumer=True)
            try:
                while len(payloads) < expected:
                    payloads.append((await sub.next_msg(timeout=15)).data)
            finally:
                await sub.unsubscribe()
        return payloads
    finally:
        await nc.close()
