"""Voice SFU benchmark (not a test): forwarded Opus streams per core, CPU per forwarded packet,
added latency and loss, for GoChat's RTP forwarding and for aiortc's own relays in the same run.

    python bench/voice.py [--seconds 10] [--only rtp-large,rtp-small,...] [--client go|python]

A stream is one sender heard by one receiver (a room of N members with S senders carries
S x (N - 1) streams). Each scenario starts one SFU process (`serve` below: the `Sfu` class with
the in-process bus, on loopback) and one load process (`--procs` for more) holding every
member, one peer connection each, ICE on 127.0.0.1:

- `--client go` (the default when `go` is on PATH): bench/voiceload, Pion peer connections,
  built here with `go build`; its members, their SFU tokens and the Opus packets are handed
  to it in a JSON file. Its senders start at phases spread evenly over the 20 ms period, as
  independent clients would;
- `--client python`: `clients` below, aiortc peer connections. Receiving costs it about as
  much Python per packet as the SFU spends, so past ~100 streams on a shared 2-core machine
  its own queueing is what the latency figures show.

Senders send pre-encoded 20 ms Opus packets of a 440 Hz tone (encoded once here by aiortc's
encoder: no encoding in the load process); receivers read RTP packets without decoding (below
aiortc's jitter buffer in the Python client). Modes:

- `rtp`: GoChat's SFU as shipped, RTP packets rewritten and forwarded (gochat.sfu.forwarding);
- `relay`: aiortc's default: each received track decoded, fanned out by `MediaRelay` and
  re-encoded by every receiver's sender (the baseline);
- `passthrough`: the received track yields encoded packets (aiortc's decoder swapped for one
  that returns the jitter buffer's frame), `MediaRelay` fans them out and each sender
  re-packetizes them: no codec, but the audio jitter buffer stays in the path.

Figures: the SFU process's CPU seconds (from /proc) over the sending window, less its idle
share measured for 3 s before, divided by the packets the SFU forwarded (CPU per forwarded
packet), and streams per core = (1 - idle share) / (that x 50 packets/s); the load processes'
CPU share over the same window is printed beside them. Latency is sender -> SFU -> receiver over
loopback, in one load process (one clock): the receiver maps each packet to the send time of
the sender's packet of the same index (RTP timestamp / 960 since the stream's first packet).
It includes the load process's own queueing, so on a loaded machine it is an upper bound of
what the SFU adds. Loss: packets the senders sent that a receiver never got, after a 1 s drain.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fractions
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aioice.ice
import av
from aiortc import MediaStreamTrack

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-voice-secret-" + "x" * 32
ISSUER = "gochat-bench"
SFU_ID = "sfu-bench"
FRAME = 960  # 20 ms at 48 kHz
IDLE_SECONDS = 3.0
PACKETS_PER_SECOND = 50

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

# name: (mode, rooms, members per room, senders per room)
SCENARIOS: dict[str, tuple[str, int, int, int]] = {
    # at the target: 400+ streams
    "rtp-large": ("rtp", 1, 51, 8),  # 408 streams, 51 peer connections
    "rtp-small": ("rtp", 34, 4, 4),  # 408 streams, 136 peer connections
    # at a load the load processes sustain on a shared 2-core machine, for latency and loss
    "rtp-large-100": ("rtp", 1, 26, 4),  # 100 streams
    "rtp-small-96": ("rtp", 8, 4, 4),  # 96 streams
    "passthrough-large-100": ("passthrough", 1, 26, 4),  # 100 streams
    # the default path costs ~1 ms a packet: a core's worth is ~20 streams
    "relay-large": ("relay", 1, 11, 1),  # 10 streams
    "relay-small": ("relay", 3, 3, 2),  # 12 streams
}


# -- the SFU process ----------------------------------------------------------------------


def _baseline(mode: str) -> None:
    """Make gochat.sfu's rooms fan out through aiortc's MediaRelay instead of RTP rewriting."""
    from aiortc.contrib.media import MediaRelay

    from gochat.sfu import rooms

    relay = MediaRelay()

    if mode == "passthrough":
        import aiortc.rtcrtpreceiver as receiver_module

        class PacketDecoder:
            def decode(self, encoded_frame: Any) -> list[Any]:
                packet = av.Packet(encoded_frame.data)
                packet.pts = encoded_frame.timestamp
                packet.time_base = fractions.Fraction(1, 48_000)
                return [packet]

        receiver_module.get_decoder = lambda codec: PacketDecoder()  # type: ignore[assignment]

    class Source:
        def __init__(self, *, kind: str, receiver: Any, transceiver: Any, may_forward: Any):
            self.kind = kind
            self.receiver = receiver
            self.links: dict[int, Any] = {}
            self.last_loud_ms = 0

    class Link:
        def __init__(self, transceiver: Any, owner_user_id: int) -> None:
            self.transceiver = transceiver
            self.sender = transceiver.sender
            self.owner_user_id = owner_user_id
            self.ready = False

        @property
        def mid(self) -> str | None:
            return self.transceiver.mid

        def negotiated(self) -> None:
            self.ready = True

    def link(sender: Any, receiver: Any) -> bool:
        added = False
        for kind, source in sender.sources.items():
            key = (sender.session_id, kind)
            if key in receiver.links or receiver.closed:
                continue
            track = relay.subscribe(source.receiver.track)
            transceiver = receiver.pc.addTransceiver(track, direction="sendonly")
            receiver.links[key] = Link(transceiver, sender.user_id)
            added = True
        return added

    rooms.MediaSource = Source  # type: ignore[misc, assignment]
    rooms._link = link


async def serve(mode: str) -> None:
    from gochat.bus.memory import MemoryEventBus
    from gochat.sfu.server import SfuServer
    from gochat.sfu.service import Sfu, SfuConfig
    from gochat.voice.tokens import VoiceTokens

    if mode != "rtp":
        _baseline(mode)
    sfu = Sfu(
        bus=MemoryEventBus(),
        tokens=VoiceTokens(secret=SECRET, issuer=ISSUER),
        config=SfuConfig(sfu_id=SFU_ID, region="bench", url="ws://127.0.0.1/sfu"),
    )
    server = SfuServer(sfu)
    await server.start()
    print(f"READY {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def forwarded() -> None:
        # RTP packets the SFU's senders sent (both paths keep the sender's own counter).
        count = sum(
            link.sender._RTCRtpSender__packet_count
            for member in sfu.members.values()
            for link in member.links.values()
        )
        print(f"FORWARDED {count}", flush=True)

    loop.add_signal_handler(signal.SIGUSR1, forwarded)
    await stop.wait()
    await server.stop()


# -- the load process ---------------------------------------------------------------------


def _member_specs(
    rooms: int, members: int, senders: int, procs: int, proc: int
) -> list[dict[str, Any]]:
    """This load process's members (every `procs`-th user, from `proc`) with their SFU tokens:
    users are numbered from 1, room by room; the first `senders` of a room send."""
    from gochat.voice.tokens import VoiceTokens

    tokens = VoiceTokens(secret=SECRET, issuer=ISSUER)
    ids = itertools.count(1)
    specs: list[dict[str, Any]] = []
    for room in range(rooms):
        for index in range(members):
            user = next(ids)
            if user % procs != proc:
                continue
            token, _ = tokens.issue(
                user_id=user,
                guild_id=1,
                channel_id=1000 + room,
                sfu_id=SFU_ID,
                session_id=user,
                can_speak=True,
                can_video=False,
            )
            specs.append(
                {"user": str(user), "room": room, "token": token, "sender": index < senders}
            )
    return specs


def _opus_packets() -> list[bytes]:
    """One second of a 440 Hz tone, Opus-encoded once by aiortc's encoder."""
    import array
    import math

    from aiortc.codecs.opus import OpusEncoder

    encoder = OpusEncoder()
    payloads: list[bytes] = []
    for k in range(PACKETS_PER_SECOND + 5):
        samples = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 440 * (k * FRAME + i) / 48_000))
                for i in range(FRAME)
            ),
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = 48_000
        frame.pts = k * FRAME
        frame.time_base = fractions.Fraction(1, 48_000)
        encoded, _ = encoder.encode(frame)
        payloads.extend(encoded)
    return payloads[:PACKETS_PER_SECOND]


class OpusTrack(MediaStreamTrack):
    """Pre-encoded Opus packets at 50/s from `go` until `stop`; records each send time."""

    kind = "audio"

    def __init__(self, payloads: list[bytes], go: asyncio.Event, stop: asyncio.Event) -> None:
        super().__init__()
        self.payloads = payloads
        self.go = go
        self.stop_sending = stop
        self.sent_at: list[float] = []
        self.start = 0.0

    async def recv(self) -> Any:
        await self.go.wait()
        k = len(self.sent_at)
        if k == 0:
            self.start = time.monotonic()
        delay = self.start + k / PACKETS_PER_SECOND - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.stop_sending.is_set():
            await asyncio.Event().wait()
        packet = av.Packet(self.payloads[k % len(self.payloads)])
        packet.pts = k * FRAME
        packet.time_base = fractions.Fraction(1, 48_000)
        self.sent_at.append(time.monotonic())
        return packet


class Member:
    def __init__(self, url: str, token: str, user: str, track: Any | None) -> None:
        from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

        self.url = url
        self.token = token
        self.user = user
        self.track = track
        # One transport for every m-line, as browsers do: with aiortc's default (balanced)
        # policy a second video m-line in the SFU's first offer stays on a transport that
        # never connects, and that member's video never arrives.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.mids: dict[str, str] = {}
        self.hooked: set[str] = set()
        # source user -> [(arrival monotonic, rtp timestamp)]
        self.arrivals: dict[str, list[tuple[float, int]]] = {}
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None

    async def join(self) -> None:
        from aiortc import RTCSessionDescription
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, max_size=None)
        await self.ws.send(json.dumps({"op": "join", "token": self.token}))
        joined = json.loads(await self.ws.recv())
        assert joined["op"] == "joined", joined

        async def read() -> None:
            async for raw in self.ws:
                message = json.loads(raw)
                if message["op"] == "offer":
                    for track in message["tracks"]:
                        self.mids[track["mid"]] = track["userId"]
                    await self.pc.setRemoteDescription(
                        RTCSessionDescription(sdp=message["sdp"], type="offer")
                    )
                    for transceiver in self.pc.getTransceivers():
                        if (
                            self.track is not None
                            and transceiver.mid == message["upstream"]["audio"]
                        ) and transceiver.sender.track is None:
                            transceiver.sender.replaceTrack(self.track)
                            transceiver.direction = "sendrecv"
                    await self.pc.setLocalDescription(await self.pc.createAnswer())
                    self._hook()
                    await self.ws.send(
                        json.dumps({"op": "answer", "sdp": self.pc.localDescription.sdp})
                    )

        self.task = asyncio.create_task(read())

    def _hook(self) -> None:
        for transceiver in self.pc.getTransceivers():
            mid = transceiver.mid
            if mid in self.mids and mid not in self.hooked:
                self.hooked.add(mid)
                arrivals = self.arrivals.setdefault(self.mids[mid], [])

                async def on_rtp(packet: Any, arrival_time_ms: int, log: Any = arrivals) -> None:
                    log.append((time.monotonic(), packet.timestamp))

                transceiver.receiver._handle_rtp_packet = on_rtp

    def ready(self, expected: int) -> bool:
        return len(self.hooked) >= expected and self.pc.connectionState == "connected"

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()
        await self.pc.close()


async def clients(
    url: str, rooms: int, members: int, senders: int, seconds: float, procs: int, proc: int
) -> None:
    """This load process's share of the members (every `procs`-th, from `proc`)."""
    payloads = _opus_packets()
    go, stop = asyncio.Event(), asyncio.Event()
    mine: list[Member] = []
    tracks: dict[str, Any] = {}
    for spec in _member_specs(rooms, members, senders, procs, proc):
        track = OpusTrack(payloads, go, stop) if spec["sender"] else None
        if track is not None:
            tracks[spec["user"]] = track
        mine.append(Member(url, spec["token"], spec["user"], track))
    for member in mine:
        await member.join()
    deadline = time.monotonic() + 180
    while not all(m.ready(senders - (1 if m.track is not None else 0)) for m in mine):
        if time.monotonic() > deadline:
            raise SystemExit("members did not connect within 180 s")
        await asyncio.sleep(0.1)
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    go.set()
    await asyncio.sleep(seconds)
    stop.set()
    print("STOP", flush=True)
    await asyncio.sleep(1.0)  # drain
    latencies: list[float] = []
    received: dict[str, int] = {}
    for member in mine:
        for source, arrivals in member.arrivals.items():
            if not arrivals:
                continue
            first = arrivals[0][1]
            indexes = {((ts - first) & 0xFFFFFFFF) // FRAME for _, ts in arrivals}
            received[f"{member.user}<{source}"] = len(indexes)
            track = tracks.get(source)
            if track is None:
                continue  # sent from another load process: no common send times here
            seen: set[int] = set()
            for arrived, timestamp in arrivals:
                k = ((timestamp - first) & 0xFFFFFFFF) // FRAME
                if k < len(track.sent_at) and k not in seen:
                    seen.add(k)
                    latencies.append(round((arrived - track.sent_at[k]) * 1000, 3))
    result = {
        "sent": {user: len(t.sent_at) for user, t in tracks.items()},
        "received": received,
        "listening": {m.user: len(m.hooked) for m in mine},
        "latencies": latencies,
    }
    print("RESULT " + json.dumps(result), flush=True)
    for member in mine:
        await member.close()


# -- the orchestrator ---------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _line(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise SystemExit(f"process ended before {prefix!r}")


def build_voiceload(into: Path) -> Path:
    binary = into / "voiceload"
    subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "voiceload", check=True
    )
    return binary


def _load_command(
    voiceload: Path | None,
    work: Path,
    url: str,
    scenario: tuple[str, int, int, int],
    seconds: float,
    procs: int,
    proc: int,
) -> list[str]:
    """The command of one load process: bench/voiceload (Go) with its members, tokens and
    Opus payloads in a JSON file, or this script's `clients` (aiortc)."""
    _, rooms, members, senders = scenario
    if voiceload is not None:
        config = work / f"voiceload-{proc}.json"
        config.write_text(
            json.dumps(
                {
                    "url": url,
                    "seconds": seconds,
                    "senders": senders,
                    "members": _member_specs(rooms, members, senders, procs, proc),
                    "payloads": [base64.b64encode(p).decode() for p in _opus_packets()],
                }
            )
        )
        return [str(voiceload), f"-config={config}"]
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "clients",
        "--url",
        url,
        "--rooms",
        str(rooms),
        "--members",
        str(members),
        "--senders",
        str(senders),
        "--seconds",
        str(seconds),
        "--procs",
        str(procs),
        "--proc",
        str(proc),
    ]


def run_scenario(
    name: str, seconds: float, procs: int, voiceload: Path | None, work: Path
) -> dict[str, Any]:
    mode, rooms, members, senders = SCENARIOS[name]
    me = str(Path(__file__).resolve())
    server = subprocess.Popen(
        [sys.executable, me, "serve", "--mode", mode], stdout=subprocess.PIPE, text=True
    )
    loads: list[subprocess.Popen[str]] = []
    try:
        port = int(_line(server, "READY").split()[1])
        url = f"ws://127.0.0.1:{port}/sfu"
        for proc in range(procs):
            command = _load_command(voiceload, work, url, SCENARIOS[name], seconds, procs, proc)
            loads.append(
                subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
            )
        for load in loads:
            _line(load, "READY")
        # What the connected, silent room costs (ICE consent, RTCP reports, timers): the
        # per-packet figure below is what sending adds on top of it.
        idle0, idle_wall0 = _cpu_seconds(server.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        idle_share = (_cpu_seconds(server.pid) - idle0) / (time.monotonic() - idle_wall0)
        forwarded0 = _forwarded(server)
        load_cpu0 = sum(_cpu_seconds(load.pid) for load in loads)
        cpu0, wall0 = _cpu_seconds(server.pid), time.monotonic()
        for load in loads:
            assert load.stdin is not None
            load.stdin.write("GO\n")
            load.stdin.flush()
        for load in loads:
            _line(load, "STOP")
        cpu1, wall1 = _cpu_seconds(server.pid), time.monotonic()
        load_cpu = sum(_cpu_seconds(load.pid) for load in loads) - load_cpu0
        forwarded1 = _forwarded(server)
        results = [json.loads(_line(load, "RESULT").split(" ", 1)[1]) for load in loads]
        for load in loads:
            load.wait(timeout=60)
    finally:
        for load in loads:
            if load.poll() is None:
                load.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    sent: dict[str, int] = {}
    received: dict[str, int] = {}
    latencies: list[float] = []
    for r in results:
        sent |= r["sent"]
        received |= r["received"]
        latencies.extend(r["latencies"])
    # Every receiver should hear every sender of its room but itself.
    per_room = {u: (int(u) - 1) // members for u in sent}
    expected = 0
    got = 0
    for r in results:
        for user in r["listening"]:
            room = (int(user) - 1) // members
            for source, count in sent.items():
                if source != user and per_room[source] == room:
                    expected += count
                    got += min(count, received.get(f"{user}<{source}", 0))
    latencies.sort()
    cpu = cpu1 - cpu0
    forwarded = forwarded1 - forwarded0
    busy = max(0.0, cpu - idle_share * (wall1 - wall0))
    per_packet_us = 1e6 * busy / forwarded if forwarded else float("nan")
    total_us = 1e6 * cpu / forwarded if forwarded else float("nan")
    streams = senders * (members - 1) * rooms
    return {
        "scenario": name,
        "mode": mode,
        "client": "python" if voiceload is None else "go",
        "rooms": rooms,
        "members": members,
        "senders": senders,
        "streams": streams,
        "load_processes": procs,
        "seconds": round(wall1 - wall0, 2),
        "packets_expected": expected,
        "packets_received": got,
        "packets_forwarded": forwarded,
        "loss_pct": 100 * (1 - got / expected) if expected else float("nan"),
        "latency_samples": len(latencies),
        "latency_p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "latency_p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "sfu_cpu_seconds": round(cpu, 2),
        "sfu_cpu_share": round(cpu / (wall1 - wall0), 2),
        "sfu_idle_cpu_share": round(idle_share, 3),
        "load_cpu_share": round(load_cpu / (wall1 - wall0), 2),
        # how late the load processes' senders sent (the Go client reports it): their own
        # scheduling delay, which the latencies include
        "load_send_late_p99_ms": max(
            (r.get("send_late_p99_ms", float("nan")) for r in results), default=float("nan")
        ),
        "cpu_per_forwarded_packet_us": round(per_packet_us, 1),
        "cpu_per_forwarded_packet_with_idle_us": round(total_us, 1),
        # a core, less the room's idle cost, over what each stream's 50 packets/s add
        "streams_per_core": round((1 - idle_share) * 1e6 / (per_packet_us * PACKETS_PER_SECOND)),
    }


def _forwarded(server: subprocess.Popen[str]) -> int:
    server.send_signal(signal.SIGUSR1)
    return int(_line(server, "FORWARDED").split()[1])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve")
    serve_cmd.add_argument("--mode", choices=["rtp", "relay", "passthrough"], default="rtp")
    clients_cmd = sub.add_parser("clients")
    clients_cmd.add_argument("--url", required=True)
    clients_cmd.add_argument("--rooms", type=int, default=1)
    clients_cmd.add_argument("--members", type=int, default=4)
    clients_cmd.add_argument("--senders", type=int, default=4)
    clients_cmd.add_argument("--seconds", type=float, default=10)
    clients_cmd.add_argument("--procs", type=int, default=1)
    clients_cmd.add_argument("--proc", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--procs", type=int, default=1, help="load processes")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument(
        "--client",
        choices=["go", "python"],
        default="go" if shutil.which("go") else "python",
        help="load processes: bench/voiceload (Go, Pion) or `clients` below (aiortc)",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        profile = os.environ.get("VOICE_BENCH_PROFILE")  # a file for the SFU's cProfile stats
        if profile:
            import cProfile

            cProfile.runctx("asyncio.run(serve(args.mode))", globals(), locals(), profile)
        else:
            asyncio.run(serve(args.mode))
    elif args.command == "clients":
        asyncio.run(
            clients(
                args.url,
                args.rooms,
                args.members,
                args.senders,
                args.seconds,
                args.procs,
                args.proc,
            )
        )
    else:
        work = Path(tempfile.mkdtemp(prefix="gochat-bench-"))
        try:
            voiceload = build_voiceload(work) if args.client == "go" else None
            print(f"load client: {args.client}, load average {os.getloadavg()[0]:.1f}")
            print(
                "| scenario | streams | forwarded | SFU CPU per forwarded packet (with idle)"
                " | SFU idle | streams/core | p50 | p99 | loss | load CPU | sends late p99 |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for name in args.only.split(","):
                r = run_scenario(name, args.seconds, args.procs, voiceload, work)
                print(
                    f"| {name} ({r['rooms']} x {r['members']} members, {r['senders']} senders)"
                    f" | {r['streams']} | {r['packets_forwarded']} in {r['seconds']} s"
                    f" | {r['cpu_per_forwarded_packet_us']} us"
                    f" ({r['cpu_per_forwarded_packet_with_idle_us']} us)"
                    f" | {r['sfu_idle_cpu_share']:.1%} of a core | {r['streams_per_core']}"
                    f" | {r['latency_p50_ms']:.1f} ms | {r['latency_p99_ms']:.1f} ms"
                    f" | {r['loss_pct']:.2f} % | {r['load_cpu_share']:.0%} of a core"
                    f" | {r['load_send_late_p99_ms']:.1f} ms |",
                    flush=True,
                )
                print(json.dumps(r), file=sys.stderr, flush=True)
            print(f"load average {os.getloadavg()[0]:.1f}")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
