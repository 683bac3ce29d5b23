"""The real `gochat serve` process, over TCP, as a new user would run it."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support.engines import free_port

REGISTER = """mutation($i: RegisterInput!) { register(input: $i) { user { id handle } } }"""
LOGIN = """mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }"""


@contextmanager
def serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    log_path = cwd / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gochat", "serve", "--port", str(port), *args],
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            # uvicorn re-raises the signal after a graceful shutdown, so the status is -SIGTERM.
            assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
            output = log_path.read_text()
            assert "Application shutdown complete" in output and "Traceback" not in output, output
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()


def _register_login_me(url: str) -> None:
    with httpx.Client(timeout=30) as http:
        account = {
            "email": "new@example.com",
            "handle": "newbie",
            "displayName": "New",
            "password": "a good password",
        }
        r = http.post(
            f"{url}/graphql", json={"query": REGISTER, "variables": {"i": account}}
        ).json()
        assert r["data"]["register"]["user"]["handle"] == "newbie", r
        r = http.post(
            f"{url}/graphql",
            json={
                "query": LOGIN,
                "variables": {"i": {"email": "new@example.com", "password": "a good password"}},
            },
        ).json()
        token = r["data"]["login"]["session"]["accessToken"]
        me = http.post(
            f"{url}/graphql",
            json={"query": "{ me { handle email } }"},
            headers={"authorization": f"Bearer {token}"},
        ).json()
        assert me == {"data": {"me": {"handle": "newbie", "email": "new@example.com"}}}
        assert http.get(f"{url}/ready").json()["status"] == "ready"
        page = http.get(f"{url}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_serve_with_no_configuration_creates_data_dir_and_serves(tmp_path: Path) -> None:
    with serve(tmp_path) as url:
        _register_login_me(url)
    data = tmp_path / "gochat-data"
    assert (data / "gochat.db").is_file()
    assert stat.S_IMODE((data / "jwt-secret").stat().st_mode) == 0o600


def test_serve_on_postgresql(tmp_path: Path, postgres_database: str) -> None:
    with serve(
        tmp_path, "--data-dir", str(tmp_path / "d"), env={"GOCHAT_DATABASE_URL": postgres_database}
    ) as url:
        _register_login_me(url)


def test_a_stalled_request_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    """A client that sends half a request body and then nothing: SIGTERM still ends the
    process once the grace period is over, and the application's own cleanup runs."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gochat", "serve", "--port", str(port)],
            cwd=tmp_path,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")},
                "GOCHAT_SHUTDOWN_GRACE_SECONDS": "1",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with socket.create_connection(("127.0.0.1", port)) as stalled:
                stalled.sendall(
                    b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 100\r\n\r\n{"query":'
                )
                time.sleep(0.5)  # the request is being read when the signal comes
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                status = proc.wait(timeout=15)
                took = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = log_path.read_text()
    assert status in (0, -signal.SIGTERM), output
    assert 1 <= took < 5, (took, output)
    assert "Application shutdown complete" in output, output


def test_serve_refuses_a_websocket_message_over_the_request_limit_from_its_header(
    tmp_path: Path,
) -> None:
    """GOCHAT_REQUEST_MAX_BYTES bounds WebSocket messages too, in the server's framing: a
    frame that announces more is refused with 1009 before its payload is read, so a client
    cannot make the process buffer it."""
    with serve(tmp_path, env={"GOCHAT_REQUEST_MAX_BYTES": "4096"}) as url:
        ws_url = url.replace("http://", "ws://") + "/graphql"
        with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            # A masked text frame header announcing 16 MiB, a masking key, and a few bytes.
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, 16 * 1024 * 1024)
            ws.socket.sendall(header + os.urandom(4) + b"x" * 64)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_voice_works_after_the_one_command(tmp_path: Path) -> None:
    """`gochat serve` with no configuration embeds an SFU: joinVoice names it, on the server's
    own port, and it accepts the token and answers with the room and an offer."""
    with serve(tmp_path) as url, httpx.Client(timeout=30) as http:

        def gql(query: str, variables: dict[str, object], token: str | None = None) -> dict:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            body = http.post(
                f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
            ).json()
            assert "errors" not in body, body
            return body["data"]

        account = {
            "email": "voice@example.com",
            "handle": "voicer",
            "displayName": "Voice",
            "password": "a good password",
        }
        gql(REGISTER, {"i": account})
        token = gql(LOGIN, {"i": {"email": account["email"], "password": account["password"]}})[
            "login"
        ]["session"]["accessToken"]
        guild = gql(
            'mutation { createGuild(input: {name: "Talk"}) { guild { channels { id type } } } }',
            {},
            token,
        )["createGuild"]["guild"]
        voice_channel = next(c["id"] for c in guild["channels"] if c["type"] == "VOICE")
        joined = gql(
            "mutation($c: ID!) { joinVoice(input: {channelId: $c}) { sfuUrl token region } }",
            {"c": voice_channel},
            token,
        )["joinVoice"]
        assert joined["sfuUrl"] == url.replace("http://", "ws://") + "/sfu"
        with connect(joined["sfuUrl"], open_timeout=10) as sfu:
            sfu.send(json.dumps({"op": "join", "token": joined["token"]}))
            first = json.loads(sfu.recv(timeout=30))
            assert first["op"] == "joined", first
            assert first["self"]["userId"]
            second = json.loads(sfu.recv(timeout=30))
            assert second["op"] == "offer" and second["sdp"].startswith("v=0"), second
