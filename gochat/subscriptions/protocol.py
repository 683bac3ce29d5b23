"""The two GraphQL-over-WebSocket protocols' vocabulary: graphql-transport-ws and the legacy
graphql-ws (subscriptions-transport-ws). Their names, fixed frames and close codes, the settings
of the transport, and the shapes of the messages it sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from gochat.schema.errors import translate
from gochat.subscriptions.wire import Payload

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

PING_FRAME = '{"type":"ping"}'
PONG_FRAME = '{"type":"pong"}'
KA_FRAME = '{"type":"ka"}'

CLOSE_BAD_MESSAGE = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SUBPROTOCOL = 4406
CLOSE_INIT_TIMEOUT = 4408
CLOSE_DUPLICATE = 4409
CLOSE_TOO_MANY_INITS = 4429
CLOSE_SLOW = 1013
# RFC 6455 1013: a dependency is unavailable; reconnect after a pause.
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOO_BIG = 1009


@dataclass(frozen=True, slots=True)
class WsSettings:
    connection_init_timeout_seconds: float
    max_operations: int
    keepalive_seconds: float
    max_outbox_frames: int
    allowed_origins: tuple[str, ...]
    fanout: str  # shared | per-subscriber
    trust_forwarded_for: bool
    max_message_bytes: int


class ProtocolViolation(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def result_payload(
    data: dict[str, Any] | None, errors: list[GraphQLError] | None, *, request_id: str | None
) -> Payload:
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = [translate(e, request_id=request_id).formatted for e in errors]
    return Payload(json.dumps(body, separators=(",", ":"), default=str))


def operation_id(message: dict[str, Any]) -> str:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id:
        raise ProtocolViolation(CLOSE_BAD_MESSAGE, "Failed to parse message: id")
    return op_id
