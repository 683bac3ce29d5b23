"""The links that GoChat mails: they point at the address actually served (or the configured
public URL), and following them confirms the email or resets the password on a small page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from gochat.config import Settings
from tests.cli.test_serve import serve
from tests.support.client import GraphQLClient
from tests.support.factories import LOGIN, PASSWORD, signed_up
from tests.support.server import RunningServer
from tests.support.smtp import Inbox, smtp_inbox

ME = "{ me { emailVerified } }"
RESET_REQUEST = "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }"
LINK = re.compile(r"(https?://\S+/(?:confirm-email|reset-password)\?token=\S+)")


@pytest.fixture
def backend() -> str:
    return "sqlite"


def mailed_link(mails: list[str]) -> str:
    assert mails, "no mail"
    match = LINK.search(mails[-1])
    assert match, mails[-1]
    return match.group(1)


def wait_for_mail(inbox: Inbox, to: str) -> list[str]:
    deadline = time.monotonic() + 20
    while not inbox.bodies(to) and time.monotonic() < deadline:
        time.sleep(0.05)
    return inbox.bodies(to)


def outbox(server: RunningServer, to: str, subject: str) -> list[str]:
    mails = server.services.mail.outbox  # type: ignore[attr-defined]
    return [m.text for m in mails if m.to == to and subject in m.subject]


def test_mailed_links_point_at_the_port_gochat_serve_listens_on(tmp_path: Path) -> None:
    with smtp_inbox() as inbox, serve(tmp_path, env={"GOCHAT_MAIL_URL": inbox.url}) as url:
        with httpx.Client(timeout=30) as http:
            http.post(
                f"{url}/graphql",
                json={
                    "query": "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
                    "variables": {
                        "i": {
                            "email": "port@example.com",
                            "handle": "porter",
                            "displayName": "Port",
                            "password": PASSWORD,
                        }
                    },
                },
            ).raise_for_status()
            link = mailed_link(wait_for_mail(inbox, "port@example.com"))
            assert link.startswith(f"{url}/confirm-email?token="), link
            page = http.get(link)
        assert page.status_code == 200, page.text
        assert "Your email address is confirmed" in page.text


def test_a_configured_public_url_is_used_in_mailed_links(tmp_path: Path) -> None:
    public = "https://chat.example.org/app"
    env = {"GOCHAT_PUBLIC_URL": public + "/"}
    with smtp_inbox() as inbox, serve(tmp_path, env={**env, "GOCHAT_MAIL_URL": inbox.url}) as url:
        httpx.post(
            f"{url}/graphql",
            json={"query": RESET_REQUEST, "variables": {"e": "nobody@example.com"}},
            timeout=30,
        ).raise_for_status()
        httpx.post(
            f"{url}/graphql",
            json={
                "query": "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
                "variables": {
                    "i": {
                        "email": "pub@example.com",
                        "handle": "publisher",
                        "displayName": "Pub",
                        "password": PASSWORD,
                    }
                },
            },
            timeout=30,
        ).raise_for_status()
        link = mailed_link(wait_for_mail(inbox, "pub@example.com"))
    assert link.startswith(f"{public}/confirm-email?token="), link


async def test_following_the_confirmation_link_confirms_once(
    server: RunningServer, client: GraphQLClient
) -> None:
    user = await signed_up(client)
    link = mailed_link(outbox(server, user.email, "Confirm"))
    assert link.startswith(f"{server.url}/confirm-email?token="), link
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(link)
        assert page.status_code == 200
        assert "Your email address is confirmed" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert (await user.client.execute(ME)).ok() == {"me": {"emailVerified": True}}

        again = await http.get(link)
        assert again.status_code == 400
        assert "invalid or expired" in again.text
        missing = await http.get(f"{server.url}/confirm-email")
        assert missing.status_code == 400
        assert "no token" in missing.text


async def test_the_reset_link_opens_a_form_that_sets_the_new_password(
    server: RunningServer, client: GraphQLClient
) -> None:
    user = await signed_up(client)
    (await client.execute(RESET_REQUEST, {"e": user.email})).ok()
    link = mailed_link(outbox(server, user.email, "Reset"))
    assert link.startswith(f"{server.url}/reset-password?token="), link
    token = link.split("token=", 1)[1]
    async with httpx.AsyncClient(timeout=30) as http:
        form = await http.get(link)
        assert form.status_code == 200
        assert 'method="post"' in form.text
        assert f'name="token" value="{token}"' in form.text
        # GET never changes anything: the old password still works.
        assert (
            await client.execute(LOGIN, {"input": {"email": user.email, "password": PASSWORD}})
        ).ok()

        mismatch = await http.post(
            f"{server.url}/reset-password",
            data={"token": token, "password": "a brand new password", "repeat": "something else"},
        )
        assert mismatch.status_code == 400
        assert "do not match" in mismatch.text
        short = await http.post(
            f"{server.url}/reset-password", data={"token": token, "password": "x", "repeat": "x"}
        )
        assert short.status_code == 400
        assert f'name="token" value="{token}"' in short.text  # the form again, to retry

        done = await http.post(
            f"{server.url}/reset-password",
            data={
                "token": token,
                "password": "a brand new password",
                "repeat": "a brand new password",
            },
        )
        assert done.status_code == 200, done.text
        assert "Your password is changed" in done.text
        reused = await http.post(
            f"{server.url}/reset-password",
            data={"token": token, "password": "another password 2", "repeat": "another password 2"},
        )
        assert reused.status_code == 400
        assert "invalid or expired" in reused.text

    (await client.execute(LOGIN, {"input": {"email": user.email, "password": PASSWORD}})).error(
        "UNAUTHENTICATED"
    )
    new = {"email": user.email, "password": "a brand new password"}
    assert (await client.execute(LOGIN, {"input": new})).ok()["login"]["session"]["accessToken"]


async def test_the_pages_escape_what_they_echo(server: RunningServer) -> None:
    hostile = '"><script>alert(1)</script>'
    async with httpx.AsyncClient(timeout=30) as http:
        form = await http.get(f"{server.url}/reset-password", params={"token": hostile})
        assert form.status_code == 200
        assert "<script>" not in form.text
        assert "&quot;&gt;&lt;script&gt;" in form.text
        posted = await http.post(
            f"{server.url}/reset-password",
            data={"token": hostile, "password": "a long password 1", "repeat": "a long password 1"},
        )
        assert posted.status_code == 400
        assert "<script>" not in posted.text
        confirm = await http.get(f"{server.url}/confirm-email", params={"token": hostile})
        assert confirm.status_code == 400
        assert "<script>" not in confirm.text


async def test_a_reset_form_without_its_token_is_refused(server: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{server.url}/reset-password")
        assert page.status_code == 400
        assert "no token" in page.text
        posted = await http.post(f"{server.url}/reset-password", data={"password": "p"})
        assert posted.status_code == 400


@pytest.mark.parametrize(
    ("host", "port", "public_url", "expected"),
    [
        ("127.0.0.1", 8123, None, "http://127.0.0.1:8123"),
        ("0.0.0.0", 9000, None, "http://localhost:9000"),
        ("::", 9000, None, "http://localhost:9000"),
        ("::1", 9000, None, "http://[::1]:9000"),
        ("0.0.0.0", 9000, "https://chat.example.org/", "https://chat.example.org"),
    ],
)
def test_the_public_url_defaults_to_the_address_served(
    host: str, port: int, public_url: str | None, expected: str
) -> None:
    settings = Settings(host=host, port=port, public_url=public_url)
    assert settings.effective_public_url() == expected


@pytest.mark.parametrize(
    "bad", ["ftp://chat.example.org", "chat.example.org", "https://x.org/?a=1", "https://"]
)
def test_a_public_url_that_is_no_http_base_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=bad)


def test_serve_on_port_zero_names_the_picked_port_in_its_log_and_links(tmp_path: Path) -> None:
    log_path = tmp_path / "serve.log"
    with smtp_inbox() as inbox, log_path.open("w") as log:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "gochat", "serve", "--port", "0"],
            cwd=tmp_path,
            env={**env, "GOCHAT_MAIL_URL": inbox.url},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = None
            deadline = time.monotonic() + 60
            while url is None and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()
                found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log_path.read_text())
                if found and "Application startup complete" in log_path.read_text():
                    url = found.group(1)
                else:
                    time.sleep(0.05)
            assert url is not None, log_path.read_text()
            assert not url.endswith(":0")
            httpx.post(
                f"{url}/graphql",
                json={
                    "query": "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
                    "variables": {
                        "i": {
                            "email": "zero@example.com",
                            "handle": "zero",
                            "displayName": "Zero",
                            "password": PASSWORD,
                        }
                    },
                },
                timeout=30,
            ).raise_for_status()
            link = mailed_link(wait_for_mail(inbox, "zero@example.com"))
            assert link.startswith(f"{url}/confirm-email?token="), link
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
