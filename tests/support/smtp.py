"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.engines import free_port


@dataclass
class Inbox:
    port: int = 0
    received: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?tls=none"

    def bodies(self, to: str) -> list[str]:
        return [
            m.get_payload(decode=True).decode()  # type: ignore[union-attr]
            for m in self.received
            if m["To"] == to
        ]


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
