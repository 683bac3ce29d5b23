"""SMTP mail through aiosmtplib. URL: smtp://user:pass@host:port?tls=starttls|implicit|none."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from gochat.domain.records import MailMessage
from gochat.errors import Unavailable


class SmtpEmailSender:
    def __init__(self, url: str, *, sender: str, timeout_seconds: float = 15.0) -> None:
        parts = urlsplit(url)
        tls = parse_qs(parts.query).get("tls", ["starttls"])[0]
        if tls not in {"starttls", "implicit", "none"}:
            raise ValueError("tls must be starttls, implicit or none")
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if tls == "implicit" else 587)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._tls = tls
        self._sender = sender
        self._timeout = timeout_seconds

    async def send(self, message: MailMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.text)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls == "implicit",
                start_tls=self._tls == "starttls",
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Unavailable("the mail server did not accept the message") from exc
