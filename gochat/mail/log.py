"""Embedded mail: nothing leaves the machine. Each mail is logged and kept in a bounded outbox,
so a developer can read a confirmation link from the server log."""

from __future__ import annotations

from collections import deque

import structlog

from gochat.domain.records import MailMessage

log = structlog.get_logger("gochat.mail")


class LogEmailSender:
    def __init__(self, *, keep: int = 1000) -> None:
        self.outbox: deque[MailMessage] = deque(maxlen=keep)

    async def send(self, message: MailMessage) -> None:
        self.outbox.append(message)
        log.info("mail.logged", to=message.to, subject=message.subject, text=message.text)
