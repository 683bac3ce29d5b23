"""The email sender port. Adapters: `mail.log` (embedded: logs and keeps an outbox) and
`mail.smtp` (any SMTP server, via aiosmtplib). Chosen by GOCHAT_MAIL_URL."""

from __future__ import annotations

from typing import Protocol

from gochat.domain.records import MailMessage


class EmailSender(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Hand the message to the mail system; raises Unavailable when it cannot."""
