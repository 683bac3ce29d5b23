"""EmailSender adapters: SMTP against a real local SMTP server (aiosmtpd), and the embedded log."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import Message as MimeMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from gochat.domain.records import MailMessage
from gochat.errors import Unavailable
from gochat.mail.log import LogEmailSender
from gochat.mail.smtp import SmtpEmailSender
from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.engines import free_port
from tests.support.factories import register
from tests.support.server import run_server


class Inbox:
    def __init__(self) -> None:
        self.received: list[MimeMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_smtp_sender_delivers_to_a_real_smtp_server(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    sender = SmtpEmailSender(
        f"smtp://127.0.0.1:{port}?tls=none", sender="GoChat <no-reply@example.com>"
    )
    await sender.send(MailMessage(to="alice@example.com", subject="Hello", text="Body line\n"))
    assert len(inbox.received) == 1
    mail = inbox.received[0]
    assert (mail["To"], mail["Subject"], mail["From"]) == (
        "alice@example.com",
        "Hello",
        "GoChat <no-reply@example.com>",
    )
    assert mail.get_payload(decode=True).decode().strip() == "Body line"


async def test_smtp_sender_raises_unavailable_when_no_server_listens() -> None:
    sender = SmtpEmailSender(
        f"smtp://127.0.0.1:{free_port()}?tls=none", sender="x@example.com", timeout_seconds=2
    )
    with pytest.raises(Unavailable):
        await sender.send(MailMessage(to="a@example.com", subject="s", text="t"))


async def test_log_sender_keeps_an_outbox() -> None:
    sender = LogEmailSender(keep=2)
    for n in range(3):
        await sender.send(MailMessage(to=f"{n}@example.com", subject="s", text="t"))
    assert [m.to for m in sender.outbox] == ["1@example.com", "2@example.com"]


async def test_registration_mails_the_confirmation_through_smtp(
    smtp_server: tuple[Inbox, int], tmp_path: Path, sqlite_template: Path
) -> None:
    inbox, port = smtp_server
    db = tmp_path / "gochat.db"
    db.write_bytes(sqlite_template.read_bytes())
    settings = make_settings(
        f"sqlite:///{db}", tmp_path / "data", mail_url=f"smtp://127.0.0.1:{port}?tls=none"
    )
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        user = await register(GraphQLClient(server.url, http), email="smtp-user@example.com")
    assert user["email"] == "smtp-user@example.com"
    assert [m["To"] for m in inbox.received] == ["smtp-user@example.com"]
    body = inbox.received[0].get_payload(decode=True).decode()
    assert "token: " in body
