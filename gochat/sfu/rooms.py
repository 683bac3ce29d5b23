"""Rooms and members: who sends what to whom, the rights that gate it, and the negotiation
of each member's peer connection (the SFU makes every offer after the member's first one)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.clock import current_ms
from aiortc.sdp import candidate_from_sdp

from gochat.errors import Conflict
from gochat.sfu.forwarding import ForwardedTrack, MediaSource, OutLink
from gochat.voice.tokens import VoiceGrant

log = structlog.get_logger("gochat.sfu")

NEGOTIATION_TIMEOUT_SECONDS = 15.0
KINDS = ("audio", "video")

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(eq=False)
class Member:
    grant: VoiceGrant
    send: Send
    pc: RTCPeerConnection
    server_mute: bool
    server_deaf: bool
    can_speak: bool
    can_video: bool
    speaking: bool = False
    # The client's first offer is applied: from now on the SFU makes the offers.
    ready: bool = False
    sources: dict[str, MediaSource] = field(default_factory=dict)
    # (sending member's session id, kind) -> the link carrying it to this member
    links: dict[tuple[int, str], OutLink] = field(default_factory=dict)
    closed: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _answer: asyncio.Future[RTCSessionDescription] | None = None
    _dirty: bool = False
    _negotiation: asyncio.Task[None] | None = None

    @property
    def session_id(self) -> int:
        return self.grant.session_id

    @property
    def user_id(self) -> int:
        return self.grant.user_id

    def may_send(self, kind: str) -> bool:
        if kind == "audio":
            return self.can_speak and not self.server_mute
        return self.can_video

    def may_receive(self) -> bool:
        return not self.server_deaf and not self.closed

    def describe(self) -> dict[str, Any]:
        return {
            "sessionId": str(self.session_id),
            "userId": str(self.user_id),
            "serverMute": self.server_mute,
            "serverDeaf": self.server_deaf,
            "speaking": self.speaking,
        }

    def tracks(self) -> list[dict[str, str]]:
        """Which incoming m-line (by MID) carries whose media, for the member's client."""
        return [
            {
                "mid": link.mid,
                "kind": kind,
                "sessionId": str(session),
                "userId": str(link.owner_user_id),
            }
            for (session, kind), link in self.links.items()
            if link.mid is not None
        ]

    async def apply_offer(self, sdp: str) -> str:
        """Apply the client's offer; the answer's SDP. Refused while the SFU's own offer
        waits for the client's answer (the client answers that first, then offers again)."""
        if self._answer is not None:
            raise Conflict("answer the SFU's offer first")
        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
            return str(self.pc.localDescription.sdp)

    def take_answer(self, sdp: str) -> None:
        if self._answer is None or self._answer.done():
            raise Conflict("no offer is waiting for an answer")
        self._answer.set_result(RTCSessionDescription(sdp=sdp, type="answer"))

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        line = str(candidate.get("candidate") or "")
        if not line:
            return  # end of candidates
        parsed = candidate_from_sdp(line.removeprefix("candidate:"))
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await self.pc.addIceCandidate(parsed)

    def renegotiate(self) -> None:
        """Offer the member its current set of links, now or right after the running offer."""
        self._dirty = True
        if self._negotiation is None or self._negotiation.done():
            self._negotiation = asyncio.ensure_future(self._negotiate())

    async def _negotiate(self) -> None:
        while self._dirty and not self.closed:
            self._dirty = False
            loop = asyncio.get_running_loop()
            async with self._lock:
                fresh = [link for link in self.links.values() if not link.ready]
                offer = await self.pc.createOffer()
                await self.pc.setLocalDescription(offer)
                self._answer = loop.create_future()
                try:
                    await self.send(
                        {
                            "op": "offer",
                            "sdp": self.pc.localDescription.sdp,
                            "tracks": self.tracks(),
                        }
                    )
                    answer = await asyncio.wait_for(self._answer, NEGOTIATION_TIMEOUT_SECONDS)
                    await self.pc.setRemoteDescription(answer)
                except (TimeoutError, ConnectionError, ValueError) as exc:
                    log.info("sfu.negotiation_failed", session=self.session_id, error=str(exc))
                    return
                finally:
                    self._answer = None
            for link in fresh:
                link.negotiated()

    async def close(self) -> None:
        self.closed = True
        if self._negotiation is not None:
            self._negotiation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._negotiation
        for link in self.links.values():
            if link.sender.track is not None:
                link.sender.track.stop()
        await self.pc.close()


class Room:
    """The members of one voice channel on this SFU."""

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id
        self.members: dict[int, Member] = {}

    def add_sources(self, member: Member) -> None:
        """Hook the member's received tracks (after its offer was applied) and link every
        source in the room to every other member; renegotiate whoever gained a link."""
        for transceiver in member.pc.getTransceivers():
            kind = transceiver.kind
            if kind not in KINDS or kind in member.sources:
                continue
            if transceiver.currentDirection not in ("recvonly", "sendrecv"):
                continue
            member.sources[kind] = MediaSource(
                kind=kind,
                receiver=transceiver.receiver,
                transceiver=transceiver,
                may_forward=lambda kind=kind: member.may_send(kind),  # type: ignore[misc]
            )
        member.ready = True
        changed: set[Member] = set()
        ready = [m for m in self.members.values() if m.ready and not m.closed]
        for sender in ready:
            for receiver in ready:
                if sender is not receiver and _link(sender, receiver):
                    changed.add(receiver)
        for receiver in changed:
            receiver.renegotiate()

    async def remove(self, member: Member) -> None:
        self.members.pop(member.session_id, None)
        # Stopping transceivers yields: others may leave meanwhile.
        for other in list(self.members.values()):
            stale = [key for key in other.links if key[0] == member.session_id]
            for key in stale:
                link = other.links.pop(key)
                with contextlib.suppress(Exception):
                    await link.transceiver.stop()
            if stale and not other.closed:
                other.renegotiate()
        for source in member.sources.values():
            source.links.clear()


def _link(sender: Member, receiver: Member) -> bool:
    added = False
    for kind, source in sender.sources.items():
        key = (sender.session_id, kind)
        if key in receiver.links or receiver.closed:
            continue
        transceiver = receiver.pc.addTransceiver(ForwardedTrack(kind), direction="sendonly")
        link = OutLink(
            source=source,
            owner_user_id=sender.user_id,
            transceiver=transceiver,
            may_receive=receiver.may_receive,
            now_ms=current_ms,
        )
        receiver.links[key] = link
        source.links[receiver.session_id] = link
        added = True
    return added


def peer_connection() -> RTCPeerConnection:
    # No STUN/TURN: the SFU's host candidates (GOCHAT_SFU_ICE_HOSTS) are its public addresses.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))
