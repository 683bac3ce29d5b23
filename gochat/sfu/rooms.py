"""Rooms and members: who sends what to whom, the rights that gate it, and the negotiation
of each member's peer connection.

The SFU makes every offer. aiortc, when it re-offers after answering a browser's offer, puts
its own payload types and header extension ids on the existing m-lines, which browsers refuse
("RTP extension ID reassignment not supported"); as the only offerer it stays consistent, and
there is never glare. Each member's first offer holds two receive-only m-lines for the
member's own audio and video (`upstream`), then one send-only m-line per other member and kind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.clock import current_ms
from aiortc.exceptions import InvalidAccessError, InvalidStateError
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
    video: bool = False  # its video reaches the others
    # kind -> the receive-only transceiver carrying the member's own media
    upstream: dict[str, RTCRtpTransceiver] = field(default_factory=dict)
    # called after each answer is applied (the member may have started sending)
    on_answered: Callable[[Member], None] | None = None
    sources: dict[str, MediaSource] = field(default_factory=dict)
    # (sending member's session id, kind) -> the link carrying it to this member
    links: dict[tuple[int, str], OutLink] = field(default_factory=dict)
    closed: bool = False
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
            "video": self.video,
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

    def take_answer(self, sdp: str) -> None:
        if self._answer is None or self._answer.done():
            raise Conflict("no offer is waiting for an answer")
        self._answer.set_result(RTCSessionDescription(sdp=sdp, type="answer"))

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        line = str(candidate.get("candidate") or "")
        if not line:
            return  # end of candidates
        text = line.removeprefix("candidate:")
        if len(text.split()) < 8:
            raise ValueError("malformed candidate")
        parsed = candidate_from_sdp(text)
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        mids = [t.mid for t in self.pc.getTransceivers()]
        if parsed.sdpMid not in mids and parsed.sdpMLineIndex not in range(len(mids)):
            raise ValueError("the candidate names no m-line of the session")
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
            fresh = [link for link in self.links.values() if not link.ready]
            # The connection closes on its own when the client closed its side (its DTLS
            # transports ended): there is nothing left to offer, and the member leaves soon.
            if self.pc.connectionState == "closed":
                return
            try:
                offer = await self.pc.createOffer()
                await self.pc.setLocalDescription(offer)
            except InvalidStateError:
                return
            self._answer = loop.create_future()
            try:
                await self.send(
                    {
                        "op": "offer",
                        "sdp": self.pc.localDescription.sdp,
                        "upstream": {k: t.mid for k, t in self.upstream.items()},
                        "tracks": self.tracks(),
                    }
                )
                await self._await_answer(loop.time() + NEGOTIATION_TIMEOUT_SECONDS)
            except (TimeoutError, ConnectionError) as exc:
                log.info("sfu.negotiation_failed", session=self.session_id, error=repr(exc))
                with contextlib.suppress(ConnectionError):
                    await self.send(
                        {"op": "error", "code": "TIMEOUT", "message": "no answer to the offer"}
                    )
                return
            finally:
                self._answer = None
            for link in fresh:
                link.negotiated()
            if self.on_answered is not None and not self.closed:
                self.on_answered(self)

    async def _await_answer(self, deadline: float) -> None:
        """Apply the client's answer; an answer that does not apply is refused and the offer
        stays open for a better one until the deadline."""
        loop = asyncio.get_running_loop()
        while True:
            assert self._answer is not None
            answer = await asyncio.wait_for(self._answer, max(0.0, deadline - loop.time()))
            try:
                await self.pc.setRemoteDescription(answer)
                return
            except (
                ValueError,
                KeyError,
                IndexError,
                TypeError,
                InvalidStateError,
                InvalidAccessError,
            ) as exc:
                self._answer = loop.create_future()
                await self.send(
                    {"op": "error", "code": "BAD_USER_INPUT", "message": f"bad answer: {exc}"}
                )

    async def close(self) -> None:
        self.closed = True
        if self._negotiation is not None:
            self._negotiation.cancel()
            try:
                await self._negotiation
            except asyncio.CancelledError:
                pass
            except Exception:  # a failed offer must not keep the member from leaving
                log.warning("sfu.negotiation_failed", session=self.session_id, exc_info=True)
        for link in self.links.values():
            if link.sender.track is not None:
                link.sender.track.stop()
        await self.pc.close()


class Room:
    """The members of one voice channel on this SFU."""

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id
        self.members: dict[int, Member] = {}

    def add(self, member: Member) -> None:
        """Seat a new member: its receive-only upstream m-lines and a link from every source
        already in the room, all in the SFU's first offer."""
        self.members[member.session_id] = member
        for kind in KINDS:
            member.upstream[kind] = member.pc.addTransceiver(kind, direction="recvonly")
        member.on_answered = self.add_sources
        for other in list(self.members.values()):
            if other is not member:
                _link(other, member)
        member.renegotiate()

    def add_sources(self, member: Member) -> None:
        """After an answer: hook the upstream m-lines the member now sends on and link them
        to every other member, renegotiating whoever gained a link."""
        added = False
        for kind, transceiver in member.upstream.items():
            if kind in member.sources or transceiver.currentDirection not in ("recvonly",):
                continue
            member.sources[kind] = MediaSource(
                kind=kind,
                receiver=transceiver.receiver,
                transceiver=transceiver,
                may_forward=lambda kind=kind: member.may_send(kind),  # type: ignore[misc]
            )
            added = True
        if not added:
            return
        for receiver in list(self.members.values()):
            if receiver is not member and _link(member, receiver):
                receiver.renegotiate()

    async def remove(self, member: Member) -> None:
        self.members.pop(member.session_id, None)
        # Before anything yields: no packet goes to the member from now on.
        for other in self.members.values():
            for source in other.sources.values():
                source.links.pop(member.session_id, None)
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
    # One transport for every m-line from the start: with aiortc's default (balanced) policy a
    # second video transceiver made before the first answer keeps the first one's transport
    # after BUNDLE moves that one onto the audio transport, and never connects.
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )
