"""What counts as voice in a forwarded audio packet, with and without the RFC 6464 level."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from gochat.sfu.forwarding import LOUD_LEVEL, LOUD_OPUS_BYTES, _is_loud


def packet(payload: bytes, level: tuple[bool, int] | None = None) -> RtpPacket:
    p = RtpPacket(payload_type=111, payload=payload)
    p.extensions.audio_level = level
    return p


def test_the_audio_level_extension_decides_when_present() -> None:
    assert _is_loud(packet(b"x", (False, 10)))
    assert _is_loud(packet(b"x", (False, LOUD_LEVEL)))
    assert not _is_loud(packet(b"x" * 200, (False, 127)))
    assert _is_loud(packet(b"x", (True, 127)))  # the sender's own voice activity flag


def test_without_it_the_opus_packet_size_decides() -> None:
    assert not _is_loud(packet(b"\xf8\xff\xfe"))  # comfort noise / DTX sized
    assert _is_loud(packet(b"x" * LOUD_OPUS_BYTES))
