"""RTP-level forwarding between aiortc peer connections, without decoding.

aiortc decodes every received track (jitter buffer, then a decoder thread) and re-encodes it
for every sender. A relay of encoded frames avoids the codec work but keeps the audio jitter
buffer, which holds about 80 ms, and re-packetizes. Here each received RTP packet goes straight
to the receiving members' senders instead:

- `MediaSource` replaces its `RTCRtpReceiver`'s per-packet handler (the one the DTLS transport
  routes every decrypted packet to), so the jitter buffer and the decoder thread stay idle;
- `OutLink` rewrites the packet for one receiving member (its sender's SSRC, negotiated payload
  type, its own sequence numbers and timestamp origin, the MID extension), serializes it with
  that peer connection's extension ids and hands it to the DTLS transport, which encrypts it
  with SRTP; the audio-level extension is carried over;
- RTCP goes where it belongs: a receiver's PLI/FIR becomes a keyframe request to the sender, a
  receiver's NACK is mapped back to the sender's sequence numbers and relayed, the sender's
  RTX answer is unwrapped and forwarded as the original, and the sender gets receiver
  reports from the statistics kept here.

`RTCRtpReceiver._handle_rtp_packet` and its stream statistics, `RTCDtlsTransport._send_rtp` and
`_rtp_header_extensions_map`, `RTCRtpTransceiver._codecs` and the sender's RTCP counters are
aiortc internals: the aiortc version is pinned and tests/sfu exercise this path end to end.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.clock import current_ntp_time
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket, unwrap_rtx

if TYPE_CHECKING:
    from av.frame import Frame
    from av.packet import Packet

# RFC 6464 levels are -dBov, 0 (loudest) to 127 (silence): louder than -50 dBov counts as voice.
LOUD_LEVEL = 50
# Without the extension, an Opus packet this long carries more than comfort noise or DTX.
LOUD_OPUS_BYTES = 40
# A keyframe request per source at most this often: every new receiver and every receiver's
# PLI asks for one, and the sender need only answer once.
KEYFRAME_INTERVAL_MS = 500
_MEDIA_CODECS = {"audio/opus", "video/vp8", "video/vp9", "video/h264"}


class ForwardedTrack(MediaStreamTrack):
    """The track an out-link's sender holds: it never yields a frame (packets are written
    below the sender), so the sender's encoding loop waits here instead of polling."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._ended = asyncio.Event()

    async def recv(self) -> Frame | Packet[Any]:
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self._ended.set()
        super().stop()


class MediaSource:
    """One member's incoming audio or video, fanned out to the room's other members."""

    def __init__(
        self,
        *,
        kind: str,
        receiver: RTCRtpReceiver,
        transceiver: RTCRtpTransceiver,
        may_forward: Callable[[], bool],
    ) -> None:
        self.kind = kind
        self.receiver = receiver
        self.links: dict[int, OutLink] = {}
        self.last_loud_ms = 0
        self.last_packet_ms = 0
        self.ssrc: int | None = None
        self.packets = 0
        self._may_forward = may_forward
        self._mime_by_pt = {
            codec.payloadType: codec.mimeType.lower()
            for codec in transceiver._codecs
            if codec.payloadType is not None and codec.mimeType.lower() in _MEDIA_CODECS
        }
        self._clock_rate = {c.payloadType: c.clockRate for c in transceiver._codecs}
        # RTX payload type -> the payload type it retransmits
        self._rtx_apt = {
            codec.payloadType: int(str(codec.parameters["apt"]))
            for codec in transceiver._codecs
            if codec.mimeType.lower().endswith("/rtx") and "apt" in codec.parameters
        }
        self.retransmissions = 0
        # The receiver's RTCP task sends receiver reports (loss, jitter, round trip) from
        # these statistics; they are fed here since its own packet handler no longer runs.
        self._statistics: dict[int, StreamStatistics] = vars(receiver)[
            "_RTCRtpReceiver__remote_streams"
        ]
        self._last_keyframe_request_ms = -KEYFRAME_INTERVAL_MS
        self._tasks: set[asyncio.Task[None]] = set()
        receiver._handle_rtp_packet = self._on_rtp  # type: ignore[method-assign]

    def packet_counts(self) -> tuple[int, int]:
        """(received, lost) RTP packets of this source, as its receiver reports them."""
        received = lost = 0
        for statistics in self._statistics.values():
            if statistics.base_seq is not None:
                received += statistics.packets_received
                lost += statistics.packets_lost
        return received, lost

    async def _on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        mime = self._mime_by_pt.get(packet.payload_type)
        if mime is None:
            await self._on_retransmission(packet)
            return
        statistics = self._statistics.get(packet.ssrc)
        if statistics is None:
            statistics = StreamStatistics(self._clock_rate.get(packet.payload_type) or 90_000)
            self._statistics[packet.ssrc] = statistics
        statistics.add(packet)
        self.ssrc = packet.ssrc
        self.packets += 1
        self.last_packet_ms = arrival_time_ms
        if self.kind == "audio" and _is_loud(packet):
            self.last_loud_ms = arrival_time_ms
        if not self._may_forward() or not self.links:
            return
        ntp = current_ntp_time()  # once per packet, not per receiver: it costs ~2 us
        # Each link rewrites the packet in place: every one starts from the values received.
        origin = (packet.ssrc, packet.sequence_number, packet.timestamp)
        for link in tuple(self.links.values()):
            await link.forward(packet, mime, origin, ntp)

    async def _on_retransmission(self, rtx: RtpPacket) -> None:
        """A packet some receiver asked for (RFC 4588 RTX): unwrapped, it goes to every link
        as the original, under the sequence number that link gave the lost one."""
        apt = self._rtx_apt.get(rtx.payload_type)
        mime = self._mime_by_pt.get(apt) if apt is not None else None
        if mime is None or self.ssrc is None or len(rtx.payload) < 2:
            return  # FEC or a codec nobody negotiated: nothing to forward
        self.retransmissions += 1
        if not self._may_forward():
            return
        packet = unwrap_rtx(rtx, payload_type=apt or 0, ssrc=self.ssrc)
        ntp = current_ntp_time()
        origin = (packet.ssrc, packet.sequence_number, packet.timestamp)
        for link in tuple(self.links.values()):
            await link.forward(packet, mime, origin, ntp)

    def request_retransmission(self, sequence_number: int) -> None:
        """Relay a receiver's NACK for one of this source's packets to its sender."""
        if self.ssrc is not None:
            self._spawn(self.receiver._send_rtcp_nack(self.ssrc, [sequence_number]))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def request_keyframe(self, now_ms: int) -> None:
        """Ask the sending member for a keyframe (RTCP PLI), at most every 500 ms."""
        if self.kind != "video" or self.ssrc is None:
            return
        if now_ms - self._last_keyframe_request_ms < KEYFRAME_INTERVAL_MS:
            return
        self._last_keyframe_request_ms = now_ms
        self._spawn(self.receiver._send_rtcp_pli(self.ssrc))


def _is_loud(packet: RtpPacket) -> bool:
    level = packet.extensions.audio_level
    if level is not None:
        voice, dbov = level
        return bool(voice) or dbov <= LOUD_LEVEL
    return len(packet.payload) >= LOUD_OPUS_BYTES


class OutLink:
    """One source as seen by one receiving member: a send-only transceiver on the receiving
    member's peer connection, fed with rewritten packets."""

    def __init__(
        self,
        *,
        source: MediaSource,
        owner_user_id: int,
        transceiver: RTCRtpTransceiver,
        may_receive: Callable[[], bool],
        now_ms: Callable[[], int],
    ) -> None:
        self.source = source
        self.owner_user_id = owner_user_id
        self.transceiver = transceiver
        self.sender = transceiver.sender
        self.forwarded = 0
        self._may_receive = may_receive
        self._now_ms = now_ms
        self._pt_by_mime: dict[str, int] = {}
        self._in_ssrc: int | None = None
        self._paused = True
        self._seq_offset = 0
        self._next_seq = random.randrange(1 << 15)  # noqa: S311 - RTP origin, not a secret
        self._ts_offset = random.randrange(1 << 32)  # noqa: S311
        self._last_out_ts = 0
        self._octets = 0
        self.sender._send_keyframe = self._on_keyframe_request  # type: ignore[method-assign]
        # The sender answers NACKs from its own history, which it never fills here.
        self.sender._retransmit = self._on_nack  # type: ignore[method-assign]

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid

    @property
    def ready(self) -> bool:
        return bool(self._pt_by_mime)

    def negotiated(self) -> None:
        """Called once the receiving member answered an offer holding this link."""
        self._pt_by_mime = {
            codec.mimeType.lower(): codec.payloadType
            for codec in self.transceiver._codecs
            if codec.payloadType is not None
        }
        self.source.request_keyframe(self._now_ms())

    def _on_keyframe_request(self) -> None:
        self.source.request_keyframe(self._now_ms())

    async def _on_nack(self, sequence_number: int) -> None:
        if self._in_ssrc is not None:
            self.source.request_retransmission((sequence_number - self._seq_offset) & 0xFFFF)

    async def forward(
        self, packet: RtpPacket, mime: str, origin: tuple[int, int, int], ntp: int
    ) -> None:
        """Send `packet` (received as `origin`: SSRC, sequence number, timestamp) on."""
        payload_type = self._pt_by_mime.get(mime)
        if payload_type is None or not self._may_receive():
            self._paused = True
            return
        in_ssrc, in_seq, in_ts = origin
        if self._paused or in_ssrc != self._in_ssrc:
            # Continue our own sequence where it stopped (a gap would read as loss) and, on a
            # new upstream SSRC, our timestamps just after the last ones sent.
            if in_ssrc != self._in_ssrc and self._in_ssrc is not None:
                self._ts_offset = (self._last_out_ts + 960 - in_ts) & 0xFFFFFFFF
            self._in_ssrc = in_ssrc
            self._seq_offset = (self._next_seq - in_seq) & 0xFFFF
            self._paused = False
        sequence = (in_seq + self._seq_offset) & 0xFFFF
        timestamp = (in_ts + self._ts_offset) & 0xFFFFFFFF
        packet.ssrc = self.sender._ssrc
        packet.payload_type = payload_type
        packet.sequence_number = sequence
        packet.timestamp = timestamp
        packet.extensions.mid = self.transceiver.mid
        transport = self.sender.transport
        try:
            await transport._send_rtp(packet.serialize(transport._rtp_header_extensions_map))
        except ConnectionError:
            return
        if (sequence - self._next_seq) & 0xFFFF < 0x8000:  # not a retransmission of the past
            self._next_seq = (sequence + 1) & 0xFFFF
            self._last_out_ts = timestamp
        self.forwarded += 1
        self._octets += len(packet.payload)
        _report_sent(self.sender, ntp, timestamp, self.forwarded, self._octets)


def _report_sent(sender: Any, ntp: int, timestamp: int, packets: int, octets: int) -> None:
    # The sender's RTCP sender reports (and getStats) read these counters; keep them true.
    sender._RTCRtpSender__ntp_timestamp = ntp
    sender._RTCRtpSender__rtp_timestamp = timestamp
    sender._RTCRtpSender__packet_count = packets
    sender._RTCRtpSender__octet_count = octets
