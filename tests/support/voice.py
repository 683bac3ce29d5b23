"""A Python voice client for the SFU: aiortc over loopback, speaking the SFU's JSON protocol.

It sends a 440 Hz tone (or silence) and counts, per sending user, the audio frames it hears
and how many of them are not silence.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fractions
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aioice.ice
import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

RATE = 48_000
SAMPLES = 960  # 20 ms
LOUD = 1000  # peak sample value above which a frame is not silence


def loopback_ice() -> None:
    """aioice never offers 127.0.0.1; tests keep every ICE host candidate on loopback."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _tone(frequency: float) -> bytes:
    samples = array.array(
        "h",
        (int(8000 * math.sin(2 * math.pi * frequency * i / RATE)) for i in range(RATE)),
    )
    return samples.tobytes()


class ToneTrack(MediaStreamTrack):
    """Mono s16 48 kHz audio in 20 ms frames, paced in real time: a tone, or silence."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, *, silent: bool = False) -> None:
        super().__init__()
        self._second = bytes(RATE * 2) if silent else _tone(frequency)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self._pts / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        offset = (self._pts % RATE) * 2
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(self._second[offset : offset + SAMPLES * 2])
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += SAMPLES
        return frame


def peak(frame: av.AudioFrame) -> int:
    samples = array.array("h", bytes(frame.planes[0]))
    return max((abs(s) for s in samples), default=0)


class VoiceClient:
    """One member: a signaling socket and a peer connection sending one audio track."""

    def __init__(
        self, url: str, token: str, *, silent: bool = False, send: bool = True, video: bool = False
    ) -> None:
        self.url = url
        self.video = video
        self.video_frames: Counter[str] = Counter()  # user id -> video frames decoded
        self.token = token
        self.silent = silent
        self.send_audio = send
        # One transport for every m-line, as browsers do: with aiortc's default (balanced)
        # policy a second video m-line in the SFU's first offer stays on a transport that
        # never connects, and that member's video never arrives.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.messages: list[dict[str, Any]] = []
        self.frames: Counter[str] = Counter()  # user id -> frames heard
        self.loud: Counter[str] = Counter()  # user id -> frames heard that are not silence
        self.close_code: int | None = None
        self.joined: dict[str, Any] | None = None
        self._ws: ClientConnection | None = None
        self._tracks: dict[str, str] = {}  # mid -> user id
        self._attached = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.pc.on("track", self._on_track)

    async def join(self) -> dict[str, Any]:
        """Join; the `joined` message, or the `error` that refused the join. Media follows
        when the SFU's offer is answered."""
        self._ws = await connect(self.url)
        await self._send({"op": "join", "token": self.token})
        first = json.loads(await self._ws.recv())
        self.messages.append(first)
        if first["op"] != "joined":
            await self._await_close()
            return first
        self.joined = first
        self._spawn(self._read())
        return first

    async def _await_close(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(ConnectionClosed):
            while True:
                self.messages.append(json.loads(await self._ws.recv()))
        self.close_code = self._ws.close_code

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                self.messages.append(message)
                if message["op"] == "offer":
                    for track in message["tracks"]:
                        self._tracks[track["mid"]] = track["userId"]
                    await self.pc.setRemoteDescription(
                        RTCSessionDescription(sdp=message["sdp"], type="offer")
                    )
                    self._attach(message["upstream"])
                    answer = await self.pc.createAnswer()
                    await self.pc.setLocalDescription(answer)
                    with contextlib.suppress(ConnectionClosed):  # closing: read the rest
                        await self._send({"op": "answer", "sdp": self.pc.localDescription.sdp})
        except ConnectionClosed:
            pass
        self.close_code = self._ws.close_code

    def _attach(self, upstream: dict[str, str]) -> None:
        """Send our media on the SFU's receive-only m-lines (once, on its first offer)."""
        if self._attached:
            return
        self._attached = True
        for transceiver in self.pc.getTransceivers():
            track: MediaStreamTrack | None = None
            if transceiver.mid == upstream.get("audio") and self.send_audio:
                track = ToneTrack(silent=self.silent)
            elif transceiver.mid == upstream.get("video") and self.video:
                track = VideoStreamTrack()
            if track is not None:
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendrecv"

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        user = self._tracks.get(mid or "", "?")
        self._spawn(self._consume(track, user))

    async def _consume(self, track: MediaStreamTrack, user: str) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.video_frames[user] += 1
                    continue
                assert isinstance(frame, av.AudioFrame)
                self.frames[user] += 1
                if peak(frame) > LOUD:
                    self.loud[user] += 1

    def ops(self, op: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["op"] == op]

    async def send(self, message: dict[str, Any]) -> None:
        await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send(json.dumps(message))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self.pc.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll `predicate` until it holds; fail after `timeout` seconds (generous for slow CI)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)
