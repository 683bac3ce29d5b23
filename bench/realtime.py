"""Real-time benchmarks (not a test): subscription fan-out of `channelEvents` over
graphql-transport-ws, on PostgreSQL + NATS + Redis as in scale mode.

    python bench/realtime.py [--runs 3] [--seconds 10] [--scenarios latency,fanout,held]
        [--profile DIR] [--workers 1,2]

Figures are medians over the runs:
  latency  (a) send-to-receive p50/p99 at steady --rates (100/s, and 20/s for contrast) to
           --subscribers (1,000) spread over two `gochat serve` processes; messages are sent
           through the first one; the send time travels in the message content
  fanout   (b) `next` frames the clients received per second per server process, one process,
           1,000 subscribers on one channel; (d) the same with GOCHAT_WS_FANOUT=per-subscriber
           right after it, reported as the shared/naive ratio of each pair
  workers  events/s through `gochat serve --workers N` on one port for each N of --workers
           (not in the default scenarios), with each run's ratio to the first N
  held     (c) server VmRSS before and after --held (10,000) initialized, subscribed, idle
           sockets, per socket; then (b) at 10,000 in --runs windows on those same sockets
           (opening 10,000 sockets takes minutes here, so it is done once)

The servers are `gochat serve` subprocesses; the sockets and the sender are the Go program in
bench/wsload/ (built here with `go build`), since a Python client cannot read 100,000 frames a
second on two cores. Fan-out runs are closed-loop: --window senders each send a message and wait
until every socket has it, so the hub stays busy while no queue grows without bound. Every
figure comes with the count check: frames received must equal messages sent times sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.process_cpu import cpu_seconds  # noqa: E402
from tests.support.engines import free_port, nats_server, postgres_server, redis_server  # noqa: E402

PASSWORD = "benchmark-password"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }"
CREATE_GUILD = (
    'mutation { createGuild(input: {name: "Realtime"}) { guild { id channels { id type } } } }'
)
CREATE_INVITE = (
    "mutation($c: ID!) { createInvite(input: {channelId: $c, maxUses: 0}) { invite { code } } }"
)
ACCEPT_INVITE = (
    "mutation($code: String!) { acceptInvite(input: {code: $code}) { member { userId } } }"
)

TARGETS = {
    "events_per_second": 50_000,
    "latency_p99_ms": 25.0,
    "bytes_per_connection": 30 * 1024,
    "shared_over_naive": 10.0,
}


# --- processes ------------------------------------------------------------------------------


def raise_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard one; child processes inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def build_wsload(into: Path) -> Path:
    binary = into / "wsload"
    subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "wsload", check=True
    )
    return binary


@dataclass(frozen=True)
class Engines:
    database_url: str
    bus_url: str
    redis_url: str
    jwt_secret: str


class Server:
    """One `gochat serve` process."""

    def __init__(
        self, engines: Engines, worker_id: int, data_dir: Path, fanout: str, processes: int = 1
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        env = {
            **os.environ,
            "GOCHAT_DATABASE_URL": engines.database_url,
            "GOCHAT_BUS_URL": engines.bus_url,
            "GOCHAT_REDIS_URL": engines.redis_url,
            "GOCHAT_JWT_SECRET": engines.jwt_secret,
            "GOCHAT_WORKER_ID": str(worker_id),
            "GOCHAT_WS_FANOUT": fanout,
            "GOCHAT_DATA_DIR": str(data_dir),
            "GOCHAT_LOG_LEVEL": "warning",
            "GOCHAT_ACCESS_TOKEN_TTL_SECONDS": "86400",
            "GOCHAT_RATE_LOGIN_PER_IP": "10000/60",
            "GOCHAT_RATE_LOGIN_PER_ACCOUNT": "10000/60",
            "GOCHAT_RATE_REGISTER_PER_IP": "10000/60",
            # A benchmark drives one account far past any person's query cost rate.
            "GOCHAT_RATE_COST_PER_USER": "1000000000/60",
        }
        gochat = Path(sys.executable).with_name("gochat")
        command = [str(gochat), "serve", "--port", str(self.port), "--workers", str(processes)]
        self.proc = subprocess.Popen(command, env=env)
        self.pid = self.proc.pid

    def wait_ready(self) -> None:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"gochat serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_worker_ids = iter(range(1, 128))


@contextmanager
def servers(
    engines: Engines, data_dir: Path, count: int, fanout: str, processes: int = 1
) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        # One at a time: each applies the migrations on start.
        for _ in range(count):
            # `serve --workers N` numbers its children from the id it is given.
            server = Server(engines, next(_worker_ids) * 8, data_dir, fanout, processes)
            started.append(server)
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


@contextmanager
def engines_running(work: Path) -> Iterator[Engines]:
    with ExitStack() as stack:
        admin = stack.enter_context(postgres_server())

        async def create() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute("CREATE DATABASE realtime")
            await conn.close()

        asyncio.run(create())
        nats = stack.enter_context(nats_server())
        redis = stack.enter_context(redis_server())
        yield Engines(
            database_url=admin.rsplit("/", 1)[0] + "/realtime",
            bus_url=nats.url,
            redis_url=redis.url,
            jwt_secret=secrets.token_urlsafe(48),
        )


# --- accounts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    sender_token: str
    member_tokens: list[str]
    channel_id: str


async def _gql(
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


async def _signed_up(http: httpx.AsyncClient, url: str, handle: str) -> str:
    email = f"{handle}@example.com"
    user = {"email": email, "handle": handle, "displayName": handle, "password": PASSWORD}
    await _gql(http, url, REGISTER, {"i": user})
    login = await _gql(http, url, LOGIN, {"i": {"email": email, "password": PASSWORD}})
    token: str = login["login"]["session"]["accessToken"]
    return token


async def make_audience(url: str, members: int) -> Audience:
    """An owner who sends, and `members` users who joined the owner's guild; sockets share
    these users (argon2 makes each login cost ~50 ms)."""
    tag = secrets.token_hex(3)
    async with httpx.AsyncClient(timeout=60) as http:
        owner = await _signed_up(http, url, f"owner{tag}")
        guild = (await _gql(http, url, CREATE_GUILD, {}, owner))["createGuild"]["guild"]
        channel = next(c["id"] for c in guild["channels"] if c["type"] == "TEXT")
        code = (await _gql(http, url, CREATE_INVITE, {"c": channel}, owner))["createInvite"][
            "invite"
        ]["code"]
        tokens = []
        for n in range(members):
            token = await _signed_up(http, url, f"member{tag}x{n}")
            await _gql(http, url, ACCEPT_INVITE, {"code": code}, token)
            tokens.append(token)
    return Audience(owner, tokens, channel)


# --- load client ----------------------------------------------------------------------------


class Load:
    """One wsload process. Its stdout carries events (`ready`, `window_start`, `window_end`,
    `result` in idle mode) and, last, the final result object; in idle mode each stdin line
    asks for a measurement on the sockets already open."""

    def __init__(
        self,
        binary: Path,
        audience: Audience,
        token_file: Path,
        *,
        urls: list[str],
        send_url: str,
        sockets: int,
        mode: str,
        extra: list[str],
    ) -> None:
        command = [
            str(binary),
            "-mode", mode,
            "-urls", ",".join(urls),
            "-tokens-file", str(token_file),
            "-channel", audience.channel_id,
            "-sockets", str(sockets),
            "-send-url", send_url,
            "-send-token", audience.sender_token,
            *extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def event(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"wsload exited with {self.proc.wait()}")
        event: dict[str, Any] = json.loads(line)
        return event

    def ask(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def measure(
        self, watched: list[Server], *, profile: Path | None = None, seconds: float = 0
    ) -> dict[str, Any]:
        """Events up to the next result, with the share of a core that each server and the
        client used in the measured window; with `profile`, py-spy samples the first server
        during the window."""
        cpu: dict[str, float] = {}
        spy = None
        started = time.monotonic()
        while True:
            event = self.event()
            kind = event.get("event")
            if kind == "window_start":
                if profile is not None:
                    spy = py_spy(watched[0].pid, seconds, profile)
                cpu = {f"server{n}": s.cpu_seconds() for n, s in enumerate(watched)}
                cpu["client"] = cpu_seconds(self.proc.pid)
                started = time.monotonic()
            elif kind == "window_end":
                elapsed = time.monotonic() - started
                used = {f"server{n}": s.cpu_seconds() for n, s in enumerate(watched)}
                used["client"] = cpu_seconds(self.proc.pid)
                cpu = {k: (used[k] - cpu[k]) / elapsed for k in used}
            elif kind in (None, "result"):
                if spy is not None:
                    spy.wait(60)
                event["cpu_share"] = cpu
                return event

    def finish(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        result = self.event()
        self.proc.wait(60)
        return result


def py_spy(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Sample a server with py-spy (pip install py-spy), folded stacks for flamegraph.pl."""
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--nonblocking", "-r", "250", "-f", "raw"]
    command += ["-d", str(max(1, int(seconds))), "-o", str(output), "-p", str(pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def check_counts(result: dict[str, Any], label: str) -> str:
    """A one-line verdict: did every socket get every message, once?"""
    problems = []
    if result["connected"] != result["sockets"]:
        problems.append(f"{result['sockets'] - result['connected']} sockets failed to open")
    if result["subscribed"] != result["connected"]:
        problems.append(f"{result['connected'] - result['subscribed']} never got a probe")
    if result["received_frames"] != result["expected_frames"]:
        problems.append(
            f"frames {result['received_frames']:,} != {result['messages_sent']:,} messages x "
            f"{result['connected']:,} sockets = {result['expected_frames']:,}"
        )
    if result.get("overdelivered_messages"):
        problems.append(f"{result['overdelivered_messages']} messages delivered twice")
    if result["send_errors"]:
        problems.append(f"{result['send_errors']} sends failed")
    if result["closed_early"]:
        problems.append(f"closed by server: {result['closed_early']}")
    if result.get("other_frames"):
        problems.append(f"{result['other_frames']} unexpected frames")
    verdict = "counts OK" if not problems else "; ".join(problems)
    print(f"    {label}: {verdict}", flush=True)
    return verdict


# --- scenarios ------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    engines: Engines
    work: Path
    binary: Path
    audience: Audience
    token_file: Path

    def timing(self) -> list[str]:
        return [
            "-warmup", f"{self.args.warmup}s", "-seconds", f"{self.args.seconds}s",
            "-read-pause", f"{self.args.read_pause_us}us",
        ]  # fmt: skip

    def host_frame_cost(self) -> dict[str, Any]:
        """What a loopback frame costs the host right now, without GoChat (wsload -mode
        calibrate): the latency figures move with it on a virtual machine."""
        out = subprocess.run(
            [str(self.binary), "-mode", "calibrate"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        cost: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return cost

    def latency_run(self, rate: float, run: int) -> dict[str, Any]:
        host = self.host_frame_cost()
        extra = ["-rate", str(rate), *self.timing()]
        if self.args.trace is not None:
            self.args.trace.mkdir(parents=True, exist_ok=True)
            extra += ["-trace", str(self.args.trace / f"latency-{rate:g}-run{run + 1}.txt")]
        with servers(self.engines, self.work / "data", 2, "shared") as (first, second):
            through = [first.url] if self.args.send_through == "first" else [first.url, second.url]
            load = Load(
                self.binary, self.audience, self.token_file, urls=[first.ws_url, second.ws_url],
                send_url=",".join(f"{url}/graphql" for url in through),
                sockets=self.args.subscribers, mode="latency", extra=extra,
            )  # fmt: skip
            profile = None
            if self.args.profile is not None and run == 0:
                self.args.profile.mkdir(parents=True, exist_ok=True)
                profile = self.args.profile / f"latency-{rate:g}-sender.txt"
            result = load.measure([first, second], profile=profile, seconds=self.args.seconds)
            load.proc.wait(60)
        check_counts(result, f"latency at {rate:g}/s")
        result["host"] = host
        return result

    def fanout_run(self, sockets: int, fanout: str, profile: Path | None = None) -> dict[str, Any]:
        with servers(self.engines, self.work / "data", 1, fanout) as (server,):
            connecting = (
                py_spy(server.pid, 8, profile.with_suffix(".connect.txt")) if profile else None
            )
            load = Load(
                self.binary, self.audience, self.token_file, urls=[server.ws_url],
                send_url=f"{server.url}/graphql", sockets=sockets, mode="throughput",
                extra=["-window", str(self.args.window), *self.timing()],
            )  # fmt: skip
            result = load.measure([server], profile=profile, seconds=self.args.seconds)
            load.proc.wait(60)
            if connecting is not None:
                connecting.wait(60)
        check_counts(result, f"fan-out {fanout}, {sockets:,} sockets")
        return result

    def workers_run(self, sockets: int, processes: int) -> dict[str, Any]:
        """Fan-out through `serve --workers N` on one port: the kernel spreads the sockets
        over the N processes; frames/s is the whole port's."""
        data = self.work / "data"
        with servers(self.engines, data, 1, "shared", processes) as (server,):
            load = Load(
                self.binary, self.audience, self.token_file, urls=[server.ws_url],
                send_url=f"{server.url}/graphql", sockets=sockets, mode="throughput",
                extra=["-window", str(self.args.window), *self.timing()],
            )  # fmt: skip
            result = load.measure([server], seconds=self.args.seconds)
            load.proc.wait(60)
        check_counts(result, f"fan-out, {sockets:,} sockets, serve --workers {processes}")
        return result

    def held_runs(self, sockets: int, runs: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One process, `sockets` idle subscribed sockets: RSS before and after (memory), then
        `runs` fan-out windows on those same sockets. Opening 10,000 sockets takes minutes
        here, so they are opened once."""
        with servers(self.engines, self.work / "data", 1, "shared") as (server,):
            # Warm the process (imports, caches, pools) with a few sockets before the baseline.
            warm = Load(
                self.binary, self.audience, self.token_file, urls=[server.ws_url],
                send_url=f"{server.url}/graphql", sockets=10, mode="idle", extra=[],
            )  # fmt: skip
            warm.event()
            warm.finish()
            before = settled_rss(server)
            load = Load(
                self.binary, self.audience, self.token_file, urls=[server.ws_url],
                send_url=f"{server.url}/graphql", sockets=sockets, mode="idle",
                extra=["-window", str(self.args.window), *self.timing()],
            )  # fmt: skip
            ready = load.event()
            after = settled_rss(server)
            windows = []
            for _ in range(runs):
                load.ask("throughput")
                window = load.measure([server])
                check_counts(window, f"fan-out shared, {sockets:,} held sockets")
                windows.append(window)
            memory = load.finish()
        memory.update(
            rss_before=before,
            rss_after=after,
            bytes_per_connection=(after - before) / max(1, ready["subscribed"]),
        )
        check_counts(memory, f"memory, {sockets:,} sockets")
        return memory, windows


def settled_rss(server: Server, *, quiet_seconds: float = 2.0, limit: float = 20.0) -> int:
    """VmRSS once it has not moved by more than 0.5 % for `quiet_seconds`."""
    deadline = time.monotonic() + limit
    last = server.rss_bytes()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = server.rss_bytes()
        if abs(now - last) > last * 0.005:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return now
    return last


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_runs(values: list[float], spec: str) -> str:
    return ", ".join(format(v, spec) for v in values)


def summarize(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    rows: list[tuple[str, str, str, str, str]] = []
    for rate in args.rates:
        runs = results.get(f"latency-{rate:g}", [])
        if not runs:
            continue
        p50 = [r["latency_ms"]["p50"] for r in runs]
        p99 = [r["latency_ms"]["p99"] for r in runs]
        target = rate == args.rates[0]
        rows.append(
            (
                f"(a) latency p50, {rate:g} msg/s to {args.subscribers:,} subs / 2 procs",
                fmt_runs(p50, ".1f"),
                f"{med(p50):.1f} ms",
                "-",
                "",
            )
        )
        rows.append(
            (
                f"(a) latency p99, {rate:g} msg/s",
                fmt_runs(p99, ".1f"),
                f"{med(p99):.1f} ms",
                f"< {TARGETS['latency_p99_ms']:g} ms" if target else "(no target)",
                ("met" if med(p99) < TARGETS["latency_p99_ms"] else "MISSED") if target else "",
            )
        )
        costs = [r["host"]["write_us"] + r["host"]["read_us"] for r in runs if "host" in r]
        if target and costs:
            rows.append(
                (
                    "    host: loopback frame, write + read, before each run",
                    fmt_runs(costs, ".1f"),
                    f"{med(costs):.1f} µs",
                    "-",
                    "",
                )
            )
    for sockets, how in ((args.subscribers, "fresh process each run"), (args.held, "held")):
        runs = results.get(f"shared-{sockets}", [])
        if runs:
            rates = [r["frames_per_second"] for r in runs]
            rows.append(
                (
                    f"(b) events/s per process, {sockets:,} subscribers ({how})",
                    fmt_runs(rates, ",.0f"),
                    f"{med(rates):,.0f}",
                    f">= {TARGETS['events_per_second']:,}",
                    "met" if med(rates) >= TARGETS["events_per_second"] else "MISSED",
                )
            )
    if results.get("memory"):
        per = [r["bytes_per_connection"] / 1024 for r in results["memory"]]
        rows.append(
            (
                f"(c) RSS per idle socket, {args.held:,} sockets",
                fmt_runs(per, ".1f"),
                f"{med(per):.1f} KB",
                f"<= {TARGETS['bytes_per_connection'] // 1024} KB",
                "met" if med(per) * 1024 <= TARGETS["bytes_per_connection"] else "MISSED",
            )
        )
    shared, naive_runs = (
        results.get(f"shared-{args.subscribers}"),
        results.get(f"naive-{args.subscribers}"),
    )
    if shared and naive_runs:
        naive = [r["frames_per_second"] for r in naive_runs]
        ratios = [
            s["frames_per_second"] / n["frames_per_second"]
            for s, n in zip(shared, naive_runs, strict=True)
        ]
        rows.append(
            (
                f"(d) naive (per-subscriber) events/s, {args.subscribers:,} subs",
                fmt_runs(naive, ",.0f"),
                f"{med(naive):,.0f}",
                "-",
                "",
            )
        )
        rows.append(
            (
                "(d) shared / naive, same run",
                fmt_runs(ratios, ".1f"),
                f"{med(ratios):.1f}x",
                f">= {TARGETS['shared_over_naive']:g}x",
                "met" if med(ratios) >= TARGETS["shared_over_naive"] else "MISSED",
            )
        )
    counts = [n for n in args.workers if results.get(f"workers-{n}")]
    for n in counts:
        rates = [r["frames_per_second"] for r in results[f"workers-{n}"]]
        rows.append(
            (
                f"events/s on one port, serve --workers {n}, {args.subscribers:,} subscribers",
                fmt_runs(rates, ",.0f"),
                f"{med(rates):,.0f}",
                "-",
                "",
            )
        )
        if n != counts[0]:
            ratios = [
                b["frames_per_second"] / a["frames_per_second"]
                for a, b in zip(
                    results[f"workers-{counts[0]}"], results[f"workers-{n}"], strict=True
                )
            ]
            rows.append(
                (
                    f"    --workers {n} / --workers {counts[0]}, same run",
                    fmt_runs(ratios, ".2f"),
                    f"{med(ratios):.2f}x",
                    "-",
                    "",
                )
            )
    width = max(len(r[0]) for r in rows) if rows else 10
    print()
    print(f"{'figure':<{width}}  {'runs':<28} {'median':>12}  {'target':>12}  verdict")
    for name, runs_text, median_text, target, verdict in rows:
        print(f"{name:<{width}}  {runs_text:<28} {median_text:>12}  {target:>12}  {verdict}")
    print()
    for key, runs in results.items():
        for n, r in enumerate(runs):
            cpu = ", ".join(f"{k} {v:.0%}" for k, v in r.get("cpu_share", {}).items())
            arrival = r.get("arrival_latency_ms", {})
            extra = ""
            if "host" in r:
                host = r["host"]
                extra = f"; host frame {host['write_us']:.1f} + {host['read_us']:.1f} µs"
            if key == "memory":
                extra = f" rss {r['rss_before'] / 2**20:.0f} -> {r['rss_after'] / 2**20:.0f} MiB"
            print(
                f"  {key} run {n + 1}: {r.get('messages_sent', 0)} msgs,"
                f" {r['received_frames']:,}/{r['expected_frames']:,} frames,"
                f" connect {r['connect_seconds']:.1f}s,"
                f" send p50 {r['send_ms'].get('p50', 0):.1f} ms,"
                f" delivery p50/p99 {r['latency_ms'].get('p50', 0):.1f}/"
                f"{r['latency_ms'].get('p99', 0):.1f} ms"
                f" (arrival {arrival.get('p50', 0):.1f}/{arrival.get('p99', 0):.1f} ms);"
                f" cpu {cpu}{extra}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=3, help="load before the window")
    parser.add_argument(
        "--scenarios",
        default="latency,fanout,held",
        help="latency: (a); fanout: (b) and (d) at --subscribers; held: (c) and (b) at --held;"
        " workers: events/s through `serve --workers N` for each N of --workers",
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="process counts for the workers scenario",
    )
    parser.add_argument(
        "--rates",
        default="100,20",
        help="messages/s for latency: the first is the target's, the others are for contrast",
    )
    parser.add_argument("--subscribers", type=int, default=1_000, help="for latency and fanout")
    parser.add_argument("--held", type=int, default=10_000, help="sockets for memory and (b)")
    parser.add_argument("--window", type=int, default=4, help="messages in flight (fan-out)")
    parser.add_argument("--members", type=int, default=20, help="users the sockets share")
    parser.add_argument("--json", type=Path, help="also write every run's raw result here")
    parser.add_argument(
        "--read-pause-us",
        type=int,
        default=0,
        help="the load client sleeps this long after each round of reads (bench/wsload)",
    )
    parser.add_argument(
        "--send-through",
        choices=("first", "both"),
        default="first",
        help="latency: send every message through the first process, or alternate",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="write per-message latency traces of the latency runs into this directory",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the first run's sending server (latency) and shared fan-out server",
    )
    args = parser.parse_args()
    scenarios = set(args.scenarios.split(","))
    args.rates = [float(r) for r in args.rates.split(",")]
    limit = raise_file_limit()
    started = datetime.now(UTC)
    print(
        f"started {started.isoformat(timespec='seconds')} machine={platform.machine()} "
        f"cpus={os.cpu_count()} python={platform.python_version()} nofile={limit}",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="gochat-realtime-"))
    binary = build_wsload(work)
    results: dict[str, list[dict[str, Any]]] = {}
    with engines_running(work) as engines:
        with servers(engines, work / "data", 1, "shared") as (server,):
            audience = asyncio.run(make_audience(server.url, args.members))
        token_file = work / "tokens"
        token_file.write_text("\n".join(audience.member_tokens) + "\n")
        bench = Bench(args, engines, work, binary, audience, token_file)
        small = args.subscribers
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            if "latency" in scenarios:
                for rate in args.rates:
                    results.setdefault(f"latency-{rate:g}", []).append(bench.latency_run(rate, run))
            if "fanout" in scenarios:
                profile = None
                if args.profile is not None and run == 0:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    profile = args.profile / f"fanout-shared-{small}.txt"
                # Shared and naive back to back, so each ratio compares the same conditions.
                results.setdefault(f"shared-{small}", []).append(
                    bench.fanout_run(small, "shared", profile)
                )
                results.setdefault(f"naive-{small}", []).append(
                    bench.fanout_run(small, "per-subscriber")
                )
            if "workers" in scenarios:
                for processes in args.workers:
                    results.setdefault(f"workers-{processes}", []).append(
                        bench.workers_run(small, processes)
                    )
        if "held" in scenarios:
            print(f"{args.held:,} held sockets", flush=True)
            memory, windows = bench.held_runs(args.held, args.runs)
            results["memory"] = [memory]
            results[f"shared-{args.held}"] = windows
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    summarize(results, args)
    print(f"took {(datetime.now(UTC) - started).total_seconds():.0f} s")


if __name__ == "__main__":
    main()
