"""What an operator sees of a real `gochat serve` process: JSON log lines, /ready, a stop.

- Under GOCHAT_LOG_FORMAT=json every line the process writes is one JSON object: structlog's,
  uvicorn's, alembic's; access lines carry the request id, the GraphQL operation, the status and
  the latency; a traceback is a field; a Redis outage is one line down and one line up.
- On SIGTERM /ready fails first, then the listener closes, WebSockets are closed with 1012, a
  request in flight still gets its answer, and the process exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.support.engines import free_port, nats_server, postgres_cluster, redis_server

REGISTER = """mutation Register($i: RegisterInput!) { register(input: $i) { user { id } } }"""
LOGIN = """mutation Login($i: LoginInput!) { login(input: $i) { session { accessToken } } }"""
PASSWORD = "a good password"
TIMEOUT = 60.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Serve:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> httpx.Response:
        return httpx.get(f"{self.url}/ready", timeout=10)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=TIMEOUT)


@contextmanager
def serve(cwd: Path, env: dict[str, str]) -> Iterator[Serve]:
    port = free_port()
    log_path = cwd / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gochat", "serve", "--port", str(port)],
            cwd=cwd,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Serve(proc, f"http://127.0.0.1:{port}", log_path)
    try:

        def ready() -> bool:
            assert proc.poll() is None, server.log()
            try:
                return server.ready().status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, "/ready")
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def graphql(
    url: str, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=30,
    )


def sign_up(url: str, handle: str) -> str:
    account = {
        "email": f"{handle}@example.com",
        "handle": handle,
        "displayName": handle,
        "password": PASSWORD,
    }
    assert graphql(url, REGISTER, {"i": account}).json()["data"]["register"]["user"]["id"]
    login = graphql(url, LOGIN, {"i": {"email": account["email"], "password": PASSWORD}})
    return str(login.json()["data"]["login"]["session"]["accessToken"])


def json_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line!r}\n{text[-4000:]}")
        assert isinstance(record, dict), line
        assert {"event", "level", "timestamp"} <= set(record), line
        records.append(record)
    return records


def test_json_logs_are_one_object_per_line_with_access_fields_and_one_line_per_outage_change(
    tmp_path: Path,
) -> None:
    with redis_server() as redis:
        env = {"GOCHAT_LOG_FORMAT": "json", "GOCHAT_REDIS_URL": redis.url}
        with serve(tmp_path, env) as server:
            url = server.url
            token = sign_up(url, "logged")
            ok = graphql(
                url,
                "query Me { me { handle } }",
                authorization=f"Bearer {token}",
                **{"x-request-id": "req-me-1"},
            )
            assert ok.headers["x-request-id"] == "req-me-1"
            assert ok.json() == {"data": {"me": {"handle": "logged"}}}
            bad = graphql(url, "query Broken { nope }")
            bad_id = bad.headers["x-request-id"]
            assert len(bad_id) == 32 and bad.json()["errors"][0]["extensions"]["code"]

            # An unexpected failure: a table vanishes under the running server.
            with sqlite3.connect(tmp_path / "gochat-data" / "gochat.db", timeout=30) as db:
                db.execute("DROP TABLE user_settings")
            internal = graphql(
                url,
                "query Settings { me { settings { version } } }",
                authorization=f"Bearer {token}",
                **{"x-request-id": "req-internal-1"},
            )
            assert internal.json()["errors"][0]["extensions"]["code"] == "INTERNAL"

            # Redis goes away: requests keep being answered (limits and presence fall back to
            # this process), /ready reports it without failing, the log says so once.
            redis.stop()
            wait_for(lambda: server.ready().json()["checks"]["redis"]["ok"] is False, "down")
            assert server.ready().status_code == 200
            for n in range(3):
                again = graphql(
                    url,
                    LOGIN,
                    {"i": {"email": "logged@example.com", "password": PASSWORD}},
                    **{"x-request-id": f"req-outage-{n}"},
                )
                assert again.json()["data"]["login"]["session"]["accessToken"]
            redis.start()
            wait_for(lambda: server.ready().json()["checks"]["redis"]["ok"] is True, "back up")
            assert server.ready().json()["status"] == "ready"
            assert server.stop() == 0
            output = server.log()

    records = json_lines(output)
    loggers = {r.get("logger") for r in records}
    assert {"uvicorn.error", "alembic.runtime.migration"} <= loggers, loggers

    access = {r["request_id"]: r for r in records if r["event"] == "http.access"}
    me = access["req-me-1"]
    assert (me["operation"], me["status"], me["method"], me["path"]) == (
        "Me",
        200,
        "POST",
        "/graphql",
    )
    assert isinstance(me["latency_ms"], float) and me["latency_ms"] >= 0
    assert access[bad_id]["operation"] == "Broken"
    assert access["req-outage-0"]["operation"] == "Login"

    [failure] = [r for r in records if r["event"] == "graphql.unexpected_error"]
    assert failure["request_id"] == "req-internal-1" and failure["level"] == "error"
    frames = failure["exception"][0]
    assert "user_settings" in frames["exc_value"], frames
    assert not any(r["event"].startswith("Traceback") for r in records)

    changes = [
        (r["event"], r["dependency"]) for r in records if r["event"].startswith("dependency.")
    ]
    assert changes == [("dependency.down", "redis"), ("dependency.up", "redis")], changes
    assert sum(r["event"] == "ratelimit.degraded" for r in records) <= 1


def test_a_bus_outage_is_one_line_down_and_one_line_up(tmp_path: Path) -> None:
    """NATS killed while changes are made: each change is answered (its events wait in the
    outbox), and the log has the outage's changes of state, not a line per change or per
    reconnection attempt."""
    with nats_server() as bus:
        env = {"GOCHAT_LOG_FORMAT": "json", "GOCHAT_BUS_URL": bus.url}
        with serve(tmp_path, env) as server:
            token = sign_up(server.url, "busy")
            bus.kill()
            wait_for(lambda: server.ready().json()["checks"]["bus"]["ok"] is False, "bus down")
            for n in range(5):
                renamed = graphql(
                    server.url,
                    "mutation Rename($n: String!) { updateProfile(input: {displayName: $n}) "
                    "{ user { displayName } } }",
                    {"n": f"busy {n}"},
                    authorization=f"Bearer {token}",
                )
                assert renamed.json()["data"]["updateProfile"]["user"]["displayName"] == f"busy {n}"
            bus.start()
            wait_for(lambda: server.ready().json()["checks"]["bus"]["ok"] is True, "bus back")
            assert server.stop() == 0
            output = server.log()
    records = json_lines(output)
    changes = [
        (r["event"], r["dependency"]) for r in records if r["event"].startswith("dependency.")
    ]
    assert changes == [("dependency.down", "bus"), ("dependency.up", "bus")], changes
    loud = [r for r in records if r["level"] in {"warning", "error", "critical"}]
    assert [r["event"] for r in loud if r["event"] != "dependency.down"] in (
        ["bus.disconnected"],
        [],
    ), loud


def test_a_database_outage_is_one_line_down_and_one_line_up(tmp_path: Path) -> None:
    """PostgreSQL stopped under a running server: /ready fails (it is required), requests
    answer UNAVAILABLE, and the log has the outage's two changes of state, not a line per
    request."""
    with postgres_cluster() as database:
        env = {"GOCHAT_LOG_FORMAT": "json", "GOCHAT_DATABASE_URL": database.url}
        with serve(tmp_path, env) as server:
            token = sign_up(server.url, "dba")
            database.stop()
            wait_for(lambda: server.ready().status_code == 503, "/ready to fail")
            assert server.ready().json()["checks"]["sql"]["ok"] is False
            for n in range(5):
                answer = graphql(
                    server.url,
                    "query Me { me { handle } }",
                    authorization=f"Bearer {token}",
                    **{"x-request-id": f"req-db-{n}"},
                )
                assert answer.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
            database.start()
            wait_for(lambda: server.ready().status_code == 200, "/ready again")
            assert server.stop() == 0
            output = server.log()
    records = json_lines(output)
    changes = [
        (r["event"], r["dependency"]) for r in records if r["event"].startswith("dependency.")
    ]
    assert changes == [("dependency.down", "sql"), ("dependency.up", "sql")], changes
    # Besides the readiness probe, each component that meets the outage may say so once.
    loud = [
        (r["event"], r.get("worker"))
        for r in records
        if r["level"] in {"warning", "error", "critical"}
    ]
    assert len(loud) == len(set(loud)), loud
    assert {event for event, _ in loud} <= {"dependency.down", "worker.source_unavailable"}, loud
    answered = {r["request_id"]: r for r in records if r["event"] == "http.access"}
    assert answered["req-db-0"]["operation"] == "Me"


def _still_accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=TIMEOUT)
    return None if closed.value.rcvd is None else closed.value.rcvd.code


def test_sigterm_fails_ready_first_then_drains_requests_and_closes_websockets(
    tmp_path: Path,
) -> None:
    # Long enough for the checks made while it is draining, on a slow machine too.
    env = {"GOCHAT_SHUTDOWN_UNREADY_SECONDS": "8", "GOCHAT_SHUTDOWN_GRACE_SECONDS": "30"}
    with serve(tmp_path, env) as server:
        port = int(server.url.rsplit(":", 1)[1])
        token = sign_up(server.url, "stopper")
        body = json.dumps({"query": "query Slow { __typename }"}).encode()
        with (
            connect(
                f"ws://127.0.0.1:{port}/graphql",
                subprotocols=[Subprotocol("graphql-transport-ws")],
            ) as ws,
            socket.create_connection(("127.0.0.1", port)) as slow,
        ):
            ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": token}}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            slow.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            server.proc.send_signal(signal.SIGTERM)
            # Still serving, but no longer ready: balancers take it out first.
            wait_for(lambda: server.ready().status_code == 503, "/ready to fail")
            draining = server.ready()
            assert draining.json()["status"] == "draining"
            assert _still_accepting(port)
            # Then the listener closes and live sockets are told to reconnect elsewhere.
            wait_for(lambda: not _still_accepting(port), "the listener to close")
            assert _closed_with(ws) == 1012
            # The request that was in flight still gets its answer.
            slow.sendall(body[10:])
            slow.settimeout(TIMEOUT)
            answer = b""
            while b"__typename" not in answer:
                chunk = slow.recv(65536)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert server.proc.wait(timeout=TIMEOUT) == 0, server.log()
    output = server.log()
    assert "Application shutdown complete" in output and "Traceback" not in output, output
