"""The SFU service: the signaling socket, the rooms, and the bus (reports out, commands in).

`Sfu` runs inside any asyncio server: `routes()` gives the Starlette WebSocket route and
`start()`/`stop()` bracket its background work (command listener, heartbeat, speaking).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gochat.bus import Envelope, EventBus, SlowConsumer, Subscription
from gochat.discovery import SfuRegistry
from gochat.discovery.registration import SfuRegistration
from gochat.errors import GoChatError, Unauthenticated
from gochat.metrics import SFU_FIGURES
from gochat.tasks import stop_tasks
from gochat.voice import signals
from gochat.voice.tokens import VoiceTokens

if TYPE_CHECKING:
    # aiortc and its codecs (about 50 MB resident) load with the first member (`_media`): an
    # SFU that `gochat serve` embeds costs nothing until someone joins voice.
    from gochat.sfu.rooms import Member, Room

log = structlog.get_logger("gochat.sfu")

JOIN_TIMEOUT_SECONDS = 10.0
# A member stops speaking this long after its last loud packet.
SPEAKING_HOLD_MS = 400
# A member's video is off this long after its last video packet (a camera turned off).
VIDEO_HOLD_MS = 2000
SPEAKING_TICK_SECONDS = 0.1
MAX_MESSAGE_CHARS = 64 << 10

CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_REQUEST = 4400
CLOSE_TIMEOUT = 4408
CLOSE_DISCONNECTED = 4000
CLOSE_REPLACED = 4409
CLOSE_SHUTDOWN = 1001


@dataclass(frozen=True, slots=True)
class SfuConfig:
    sfu_id: str
    region: str
    url: str  # the signaling URL clients dial (ws:// or wss://, path included)
    path: str = "/sfu"
    ice_hosts: Sequence[str] = ()  # empty: every interface but loopback (aioice's choice)


class Sfu:
    def __init__(
        self,
        *,
        bus: EventBus,
        tokens: VoiceTokens,
        config: SfuConfig,
        registry: SfuRegistry | None = None,
    ) -> None:
        """`registry`: where to announce this SFU (with its load) while it runs, so that the
        API sends joins here; None when something else announces it."""
        self.config = config
        self._registry = registry
        self._bus = bus
        self._tokens = tokens
        self.rooms: dict[int, Room] = {}
        self.members: dict[int, Member] = {}
        self._sockets: dict[int, WebSocket] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._commands: Subscription | None = None
        self._stop_reconnect: Callable[[], None] = _nothing
        self._event_ids = itertools.count(time.time_ns() // 1000)

    def routes(self) -> list[BaseRoute]:
        return [WebSocketRoute(self.config.path, self.serve_socket)]

    async def start(self) -> None:
        if self.config.ice_hosts:
            import aioice.ice  # noqa: PLC0415

            hosts = list(self.config.ice_hosts)
            # aioice has no option for it; the SFU owns the process's ICE host candidates.
            aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: hosts
        self._commands = await self._bus.subscribe(signals.sfu_commands(self.config.sfu_id))
        self._stop_reconnect = self._bus.on_reconnect(self._heartbeat)
        self._tasks = [
            asyncio.create_task(self._listen(self._commands)),
            asyncio.create_task(self._beat()),
            asyncio.create_task(self._watch_speaking()),
        ]
        if self._registry is not None:
            registration = SfuRegistration(
                self._registry,
                sfu_id=self.config.sfu_id,
                region=self.config.region,
                url=self.config.url,
            )
            # Refreshes the lease with the member count; withdraws when cancelled.
            self._tasks.append(asyncio.create_task(registration.run(lambda: len(self.members))))

    async def stop(self) -> None:
        self._stop_reconnect()
        await stop_tasks(self._tasks)
        self._tasks = []
        if self._commands is not None:
            await self._commands.close()
        for member in list(self.members.values()):
            await self._hang_up(member, CLOSE_SHUTDOWN, "shutdown")
            await self._leave(member)

    def figures(self) -> Iterator[tuple[str, str, str, float]]:
        """What /metrics reads of this SFU when scraped (gochat.metrics.SFU_FIGURES)."""
        sources = [s for m in self.members.values() for s in m.sources.values()]
        received = lost = 0
        for source in sources:
            counts = source.packet_counts()
            received, lost = received + counts[0], lost + counts[1]
        values = {
            "gochat_sfu_rooms": len(self.rooms),
            "gochat_sfu_members": len(self.members),
            "gochat_sfu_streams_received": len(sources),
            "gochat_sfu_streams_forwarded": sum(len(m.links) for m in self.members.values()),
            "gochat_sfu_packets_received": received,
            "gochat_sfu_packets_lost": lost,
        }
        for name, documentation in SFU_FIGURES.items():
            yield name, documentation, "gauge", values[name]

    # -- signaling -------------------------------------------------------------------------

    async def serve_socket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            first = await asyncio.wait_for(_receive(websocket), JOIN_TIMEOUT_SECONDS)
        except TimeoutError:
            await _refuse(websocket, CLOSE_TIMEOUT, "TIMEOUT", "join within 10 seconds")
            return
        except (WebSocketDisconnect, ValueError):
            await _refuse(websocket, CLOSE_BAD_REQUEST, "BAD_USER_INPUT", "expected JSON")
            return
        if first.get("op") != "join" or not isinstance(first.get("token"), str):
            await _refuse(websocket, CLOSE_BAD_REQUEST, "BAD_USER_INPUT", "join first")
            return
        try:
            grant = self._tokens.verify(first["token"], sfu_id=self.config.sfu_id)
        except Unauthenticated as exc:
            await _refuse(websocket, CLOSE_UNAUTHENTICATED, exc.code, str(exc))
            return

        await _media()
        from gochat.sfu.rooms import Member, peer_connection  # noqa: PLC0415

        async def send(message: dict[str, Any]) -> None:
            if websocket.application_state != WebSocketState.CONNECTED:
                raise ConnectionError("signaling socket closed")
            try:
                await websocket.send_text(json.dumps(message))
            except (RuntimeError, OSError, WebSocketDisconnect) as exc:
                raise ConnectionError("signaling socket closed") from exc

        member = Member(
            grant=grant,
            send=send,
            pc=peer_connection(),
            server_mute=grant.server_mute,
            server_deaf=grant.server_deaf,
            can_speak=grant.can_speak,
            can_video=grant.can_video,
        )
        await self._join(member, websocket)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not member.closed:
                try:
                    message = await _receive(websocket)
                except ValueError:
                    await _error(member, "BAD_USER_INPUT", "expected a JSON object")
                    continue
                if message.get("op") == "leave":
                    break
                task = asyncio.create_task(self._handle(member, message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (WebSocketDisconnect, ConnectionError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            await self._leave(member)
            await _close(websocket, 1000, "left")

    async def _handle(self, member: Member, message: dict[str, Any]) -> None:
        op = message.get("op")
        try:
            if op == "renegotiate":
                member.renegotiate()
            elif op == "answer":
                member.take_answer(_text(message, "sdp"))
            elif op == "candidate":
                candidate = message.get("candidate")
                if candidate is not None and not isinstance(candidate, dict):
                    raise ValueError("candidate must be an object")
                await member.add_candidate(candidate or {})
            elif op == "ping":
                await member.send({"op": "pong", "t": message.get("t")})
            else:
                raise ValueError(f"unknown op {op!r}")
        except GoChatError as exc:
            await _error(member, exc.code, str(exc))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            await _error(member, "BAD_USER_INPUT", str(exc) or type(exc).__name__)
        except ConnectionError:
            pass

    async def _join(self, member: Member, websocket: WebSocket) -> None:
        previous = self.members.get(member.session_id)
        if previous is not None:
            await self._hang_up(previous, CLOSE_REPLACED, "replaced")
            await self._leave(previous)
        from gochat.sfu.rooms import Room  # noqa: PLC0415 - loaded before the member was made

        room = self.rooms.setdefault(member.grant.channel_id, Room(member.grant.channel_id))
        others = list(room.members.values())
        self.members[member.session_id] = member
        self._sockets[member.session_id] = websocket
        await member.send(
            {
                "op": "joined",
                "sfuId": self.config.sfu_id,
                "self": member.describe(),
                "members": [other.describe() for other in others],
            }
        )
        room.add(member)
        await self._broadcast(room, {"op": "member_joined", **member.describe()}, but=member)
        await self._report(
            signals.MemberJoined(
                **self._about(member),
            )
        )
        log.info("sfu.joined", session=member.session_id, channel=member.grant.channel_id)

    async def _leave(self, member: Member) -> None:
        if self.members.get(member.session_id) is not member:
            return
        del self.members[member.session_id]
        self._sockets.pop(member.session_id, None)
        room = self.rooms.get(member.grant.channel_id)
        try:
            if room is not None:
                await room.remove(member)
                if room.members:
                    await self._broadcast(room, {"op": "member_left", **member.describe()})
                elif self.rooms.get(room.channel_id) is room:
                    del self.rooms[room.channel_id]
        finally:
            await member.close()
        await self._report(
            signals.MemberLeft(
                **self._about(member),
            )
        )
        log.info("sfu.left", session=member.session_id, channel=member.grant.channel_id)

    async def _hang_up(self, member: Member, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionError):
            await member.send({"op": "disconnected", "reason": reason})
        member.closed = True
        websocket = self._sockets.get(member.session_id)
        if websocket is not None:
            await _close(websocket, code, reason)

    # -- bus -------------------------------------------------------------------------------

    async def _listen(self, subscription: Subscription) -> None:
        while True:
            try:
                async for envelope in subscription:
                    command = signals.decode_command(envelope.payload)
                    if command is not None:
                        await self.apply(command)
                return
            except SlowConsumer:
                log.warning("sfu.commands_overflowed", sfu=self.config.sfu_id)
                subscription = await self._bus.subscribe(signals.sfu_commands(self.config.sfu_id))
                self._commands = subscription

    async def apply(self, command: signals.Command) -> None:
        member = self.members.get(command.session_id)
        if member is None or member.user_id != command.user_id:
            return
        if isinstance(command, signals.Disconnect):
            await self._hang_up(member, CLOSE_DISCONNECTED, command.reason)
            await self._leave(member)
            return
        if isinstance(command, signals.SetServerState):
            member.server_mute = command.server_mute
            member.server_deaf = command.server_deaf
        else:
            member.can_speak = command.can_speak
            member.can_video = command.can_video
        room = self.rooms.get(member.grant.channel_id)
        if room is not None:
            await self._broadcast(room, {"op": "member_state", **member.describe()})

    async def _beat(self) -> None:
        while True:
            await self._heartbeat()
            await asyncio.sleep(signals.HEARTBEAT_SECONDS)

    async def _heartbeat(self) -> None:
        await self._report(
            signals.Heartbeat(
                sfu_id=self.config.sfu_id,
                region=self.config.region,
                url=self.config.url,
                load=len(self.members),
                members=[
                    signals.RoomMember(
                        session_id=m.session_id,
                        user_id=m.user_id,
                        guild_id=m.grant.guild_id,
                        channel_id=m.grant.channel_id,
                    )
                    for m in self.members.values()
                ],
            )
        )

    async def _watch_speaking(self) -> None:
        while True:
            await asyncio.sleep(SPEAKING_TICK_SECONDS)
            if not self.members:
                continue
            # The clock that stamps the sources' packets; loaded with the first member.
            from aiortc.clock import current_ms  # noqa: PLC0415

            now = current_ms()
            for member in list(self.members.values()):
                await self._check_video(member, now)
                source = member.sources.get("audio")
                speaking = (
                    source is not None
                    and member.may_send("audio")
                    and now - source.last_loud_ms < SPEAKING_HOLD_MS
                )
                if speaking == member.speaking:
                    continue
                member.speaking = speaking
                await self._announce(
                    member,
                    "speaking",
                    signals.SpeakingChanged(**self._about(member), speaking=speaking),
                )

    async def _check_video(self, member: Member, now: int) -> None:
        source = member.sources.get("video")
        video = (
            source is not None
            and member.may_send("video")
            and now - source.last_packet_ms < VIDEO_HOLD_MS
        )
        if video == member.video:
            return
        member.video = video
        await self._announce(
            member, "video", signals.VideoChanged(**self._about(member), video=video)
        )

    def _about(self, member: Member) -> dict[str, Any]:
        """Who a report is about: the fields every member report carries."""
        return {
            "sfu_id": self.config.sfu_id,
            "session_id": member.session_id,
            "user_id": member.user_id,
            "guild_id": member.grant.guild_id,
            "channel_id": member.grant.channel_id,
        }

    async def _announce(self, member: Member, op: str, report: signals.Report) -> None:
        """Tell the member's room (op) and the API (report) that the member changed."""
        room = self.rooms.get(member.grant.channel_id)
        if room is not None:
            await self._broadcast(room, {"op": op, **member.describe()})
        await self._report(report)

    async def _report(self, report: signals.Report) -> None:
        envelope = Envelope(
            subject=signals.sfu_reports(),
            event_id=next(self._event_ids),
            payload=signals.encode(report),
        )
        try:
            await self._bus.publish([envelope], durable=False)
        except GoChatError as exc:
            # The next heartbeat carries the whole membership again.
            log.warning("sfu.report_failed", kind=report.kind, error=str(exc))

    async def _broadcast(
        self, room: Room, message: dict[str, Any], but: Member | None = None
    ) -> None:
        for other in list(room.members.values()):
            if other is not but and not other.closed:
                with contextlib.suppress(ConnectionError):
                    await other.send(message)


def _nothing() -> None:
    return None


async def _media() -> None:
    """Load the media stack (aiortc) off the event loop: the first join waits for it, the API
    sharing this process goes on serving meanwhile. Once loaded, a join goes on at once: joins
    each held up a few milliseconds here left a member who joined a room with video in it
    without that video (tests/sfu/test_rooms.py, VP8), a race not understood yet."""
    if "gochat.sfu.rooms" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "gochat.sfu.rooms")


async def _receive(websocket: WebSocket) -> dict[str, Any]:
    text = await websocket.receive_text()
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValueError("message too large")
    message = json.loads(text)
    if not isinstance(message, dict):
        raise ValueError("expected a JSON object")
    return message


def _text(message: dict[str, Any], key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


async def _error(member: Member, code: str, message: str) -> None:
    with contextlib.suppress(ConnectionError):
        await member.send({"op": "error", "code": code, "message": message})


async def _refuse(websocket: WebSocket, close_code: int, code: str, message: str) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        await websocket.send_text(json.dumps({"op": "error", "code": code, "message": message}))
    await _close(websocket, close_code, message)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.close(code, reason[:120])
