"""The typed per-operation context: services, caller, request id and dataloaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket

from gochat.domain.presence import PresenceHandle
from gochat.domain.records import ClientInfo, Viewer
from gochat.domain.services import Services
from gochat.errors import Unauthenticated
from gochat.schema.loaders import Loaders


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    client: ClientInfo
    request_id: str
    bearer_token: str | None
    connection_params: dict[str, Any] | None = None
    # Set once per WebSocket connection by connection_init; HTTP requests resolve lazily.
    ws_viewer: Viewer | None = None
    # The presence session of that connection (set once it reported presence).
    presence_session: PresenceHandle | None = None
    _viewer: Viewer | None = field(default=None, repr=False)
    # Set once a resolver asked who the caller is: a subscription result that did not can be
    # shared by every subscriber of the event.
    viewer_used: bool = False

    async def viewer(self) -> Viewer:
        """The authenticated caller, or Unauthenticated."""
        self.viewer_used = True
        if self.ws_viewer is not None:
            # One context serves every operation of a WebSocket connection: give each call a
            # fresh memo so permission data never outlives the operation that read it.
            return replace(self.ws_viewer, cache={})
        if self._viewer is None:
            if not self.bearer_token:
                raise Unauthenticated("sign in first: send Authorization: Bearer <accessToken>")
            self._viewer = await self.services.accounts.authenticate(self.bearer_token)
        return self._viewer

    def token_expires_at_monotonic(self) -> float:
        """The event-loop time at which the caller's access token expires."""
        assert self.ws_viewer is not None or self._viewer is not None
        viewer = self.ws_viewer or self._viewer
        assert viewer is not None
        remaining = (viewer.access_expires_at - datetime.now(UTC)).total_seconds()
        return asyncio.get_running_loop().time() + max(remaining, 0.0)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.services, self.viewer)


Info = strawberry.Info[Context, None]


def client_info(request: Request | WebSocket, *, trust_forwarded_for: bool) -> ClientInfo:
    """Where a request or socket came from: the peer, or X-Forwarded-For behind a proxy."""
    ip = request.client.host if request.client else "unknown"
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            ip = forwarded.split(",")[0].strip() or ip
    return ClientInfo(ip=ip, user_agent=request.headers.get("user-agent", "")[:512])
