"""Closing the sockets of sessions that ended, on every process.

Logout, logout everywhere, a replayed refresh token, a password reset and a password change
publish SessionRevoked (through the outbox, after the commit) on the user's subject and on one
shared subject, `subjects.sessions_revoked()`. Each API process listens to the shared subject
once, for all its sockets, instead of once per signed-in user: revocations are rare, and an
idle socket then costs nothing more. On each one it stops trusting the user's cached sessions
and ends the session's sockets (`LiveSocket.end_session`).

A revocation published while this process was cut off from the bus, or dropped because it fell
behind, never arrives: after a reconnection or an overflow every socket's session is read again.
Meanwhile, and in the moment before an event arrives, each socket checks its session before
every operation it runs (`LiveSocket._session_live`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from gochat.bus import EventBus, SlowConsumer, Subscription, subjects
from gochat.bus.codec import UnknownEvent, decode
from gochat.domain.accounts import AccountService
from gochat.domain.events import SessionRevoked
from gochat.errors import GoChatError, Unauthenticated
from gochat.ids import Snowflake
from gochat.tasks import stop_task

if TYPE_CHECKING:
    from gochat.subscriptions.transport import LiveEndpoint

log = structlog.get_logger("gochat.ws")


class SessionGuard:
    def __init__(self, bus: EventBus, accounts: AccountService, endpoint: LiveEndpoint) -> None:
        self._bus = bus
        self._accounts = accounts
        self._endpoint = endpoint
        self._subscription: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._recheck: asyncio.Task[None] | None = None
        self._stop_reconnect = bus.on_reconnect(self._on_reconnect)

    async def start(self) -> None:
        """Listen from now on; raises Unavailable when the bus does not take the subscription."""
        self._subscription = await self._subscribe()
        self._pump = asyncio.create_task(self._run(), name="ws-session-guard")

    async def close(self) -> None:
        self._stop_reconnect()
        for task in (self._pump, self._recheck):
            await stop_task(task)
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.close()

    async def _subscribe(self) -> Subscription:
        return await self._bus.subscribe(subjects.sessions_revoked(), max_pending=8192)

    async def _run(self) -> None:
        while True:
            subscription = self._subscription
            assert subscription is not None
            try:
                async for envelope in subscription:
                    try:
                        event = decode(envelope.payload)
                    except UnknownEvent:
                        log.warning("ws.unknown_event", subject=envelope.subject)
                        continue
                    if isinstance(event, SessionRevoked):
                        await self.revoked(event)
                return  # closed
            except SlowConsumer:
                log.warning("ws.session_guard_fell_behind")
                with contextlib.suppress(Exception):
                    await subscription.close()
                self._subscription = await self._resubscribe()
                self._start_recheck()

    async def _resubscribe(self) -> Subscription:
        delay = 0.1
        while True:
            try:
                return await self._subscribe()
            except GoChatError:
                log.warning("ws.session_guard_resubscribe_failed", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def revoked(self, event: SessionRevoked) -> None:
        """Forget the user's cached sessions and end the sockets of the sessions that ended."""
        self._accounts.on_revoked(event)
        for socket in tuple(self._endpoint.sockets):
            viewer = socket.viewer
            if (
                viewer is not None
                and viewer.user_id == event.user_id
                and event.ends(viewer.session_id)
            ):
                try:
                    await socket.end_session(event)
                except Exception:  # one socket must not keep the others open
                    log.exception("ws.end_session_failed", connection=socket.serial)

    async def _on_reconnect(self) -> None:
        self._start_recheck()

    def _start_recheck(self) -> None:
        if self._recheck is None or self._recheck.done():
            self._recheck = asyncio.create_task(self._recheck_all(), name="ws-session-recheck")

    async def _recheck_all(self) -> None:
        """Read every socket's session again (once per session) and end those that ended."""
        self._accounts.forget_sessions()
        verdicts: dict[Snowflake, bool] = {}
        for socket in tuple(self._endpoint.sockets):
            viewer = socket.viewer
            if viewer is None:
                continue
            live = verdicts.get(viewer.session_id)
            if live is None:
                try:
                    await self._accounts.ensure_live(viewer)
                    live = True
                except Unauthenticated:
                    live = False
                except GoChatError:
                    # The database is away too; each operation still checks its session.
                    log.warning("ws.session_recheck_failed", exc_info=True)
                    return
                verdicts[viewer.session_id] = live
            if not live:
                await socket.end_session(None)
