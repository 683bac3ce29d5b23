"""`scripts/stack` as a user runs it: `up` brings the whole scale topology up on loopback
(PostgreSQL, Cassandra, NATS, Redis, OpenSearch, SeaweedFS, etcd; two API processes, one
process per worker kind, an SFU), a user goes through it over GraphQL (register, guild,
message seen live on the other API process, upload, search, link embed, voice), and `down`
leaves no process and no listening port behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gochat.localstack.stack import Process, State, alive, missing_engines, port_open, start_ticks
from tests.api.test_search import until
from tests.support.client import GraphQLClient, ws_connect
from tests.support.cluster import EventStream, prime, update_profile
from tests.support.engines import missing_engine
from tests.support.files import upload
from tests.support.guilds import make_world
from tests.support.pages import Page, page_server

# Cassandra and OpenSearch start in parallel from their cached jars; the rest takes seconds.
pytestmark = pytest.mark.timeout(900)

REPOSITORY = Path(__file__).resolve().parents[2]
ENGINES = {"postgres", "cassandra", "nats", "redis", "opensearch", "s3", "etcd"}
PAGE_HOST = "127.0.0.2"  # loopback, allowed to the embedder by the stack's environment
PAGE = b"""<html><head><meta property="og:title" content="Stack Notes">
<meta property="og:description" content="From a local page"></head></html>"""
EVENTS = """subscription { events { __typename
  ... on UserUpdated { user { id displayName } }
  ... on MessageCreated { message { id content } }
  ... on MessageUpdated { message { id embeds { title description } } } } }"""
SEND = """mutation($c: ID!, $t: String!, $a: [ID!]) {
  sendMessage(input: {channelId: $c, content: $t, attachments: $a}) {
    message { id attachments { filename size url } } } }"""
JOIN = "mutation($c: ID!) { joinVoice(input: {channelId: $c}) { sfuUrl token } }"


def _stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPOSITORY / "scripts" / "stack"), *args],
        env={**os.environ, "VENV": str(Path(sys.executable).parent.parent), **(env or {})},
        capture_output=True,
        text=True,
        timeout=800,
    )


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = shlex.split(value)[0]
    return values


async def test_stack_up_serves_a_user_and_down_leaves_nothing(tmp_path: Path) -> None:
    missing = missing_engines(set())
    if missing:
        missing_engine("scripts/stack needs " + "; ".join(missing))
    state_dir = tmp_path / "stack"
    allowed = json.dumps([f"{PAGE_HOST}/32"])
    up = await asyncio.to_thread(
        _stack,
        "up",
        "--dir",
        str(state_dir),
        env={"GOCHAT_EMBED_FETCH_ALLOWED_NETWORKS": allowed},
    )
    recorded: list[dict[str, Any]] = []
    state_path = state_dir / "state.json"
    if state_path.exists():
        recorded = json.loads(state_path.read_text())["processes"]
    try:
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
        status = await asyncio.to_thread(_stack, "status", "--dir", str(state_dir))
        assert status.returncode == 0, status.stdout
        assert [line.split()[:2] for line in status.stdout.splitlines()] == [
            [p["name"], "alive"] for p in recorded
        ]
        again = await asyncio.to_thread(_stack, "up", "--dir", str(state_dir))
        assert again.returncode == 1
        assert "already running" in again.stderr
        await _use_the_stack(up.stdout, state_dir)
    finally:
        # The engines' data is thrown away: no need to wait long for the JVMs' shutdown.
        down = await asyncio.to_thread(_stack, "down", "--dir", str(state_dir), "--timeout", "10")
    assert down.returncode == 0, f"{down.stdout}\n{down.stderr}"
    # GoChat's own processes stop on SIGTERM, within the deadline; an engine may need SIGKILL
    # after the short deadline given here (seen: the JVMs, and SeaweedFS on a loaded machine).
    killed = re.findall(r"^(\S+) \(pid \d+\) needed SIGKILL$", down.stdout, re.MULTILINE)
    assert set(killed) <= ENGINES, down.stdout
    names = {p["name"] for p in recorded}
    assert names == {
        *ENGINES,
        *("api-1", "api-2", "worker-media", "worker-embedder", "worker-indexer", "sfu"),
    }
    still_running = [p["name"] for p in recorded if alive(Process(**p))]
    assert still_running == []
    listening = [(p["name"], port) for p in recorded for port in p["ports"] if port_open(port)]
    assert listening == []
    status = await asyncio.to_thread(_stack, "status", "--dir", str(state_dir))
    assert status.returncode == 3, status.stdout


async def _use_the_stack(printed: str, state_dir: Path) -> None:
    graphiql = re.findall(r"^api-\d+: GraphiQL at (\S+)$", printed, re.MULTILINE)
    assert len(graphiql) == 2, printed
    settings = _env_file(state_dir / "env")
    for name in ("DATABASE", "MESSAGES", "BUS", "REDIS", "BLOBS", "SEARCH", "DISCOVERY"):
        assert settings[f"GOCHAT_{name}_URL"], name
    assert settings["STACK_API_URLS"].split() == graphiql
    async with httpx.AsyncClient(timeout=30) as http:
        for url in graphiql:
            page = await http.get(url, headers={"accept": "text/html"})
            assert page.status_code == 200
            assert "graphiql" in page.text.lower()
        a, b = (GraphQLClient(url.removesuffix("/graphql"), http) for url in graphiql)
        world = await make_world(a)
        owner_on_b = b.as_user(world.owner.token)
        async with (
            ws_connect(b.ws_url, payload={"authorization": f"Bearer {world.owner.token}"}) as ws,
            page_server(PAGE_HOST, {"/notes": Page(PAGE)}) as site,
        ):
            stream = EventStream(ws, await ws.subscribe(EVENTS))
            await prime(stream, lambda label: update_profile(owner_on_b, label))

            body = b"stack smoke test notes\n" * 100
            slot = await upload(
                world.member,
                http,
                body,
                filename="notes.txt",
                content_type="text/plain",
                channel_id=world.text_id,
            )
            word = f"stackword{uuid.uuid4().hex[:8]}"
            text = f"{word}: the notes are at {site.url('/notes')}"
            sent = (
                await world.member.client.execute(
                    SEND, {"c": world.text_id, "t": text, "a": [slot]}
                )
            ).ok()["sendMessage"]["message"]
            message_id = sent["id"]
            [attachment] = sent["attachments"]
            assert (attachment["filename"], attachment["size"]) == ("notes.txt", len(body))
            assert (await http.get(attachment["url"])).content == body

            # Sent through one API process, seen live on the other.
            created = await stream.wait_for(
                lambda e: e["__typename"] == "MessageCreated" and e["message"]["id"] == message_id,
                timeout=30,
            )
            assert created["message"]["content"] == text
            # The embedder worker fetched the local page.
            updated = await stream.wait_for(
                lambda e: (
                    e["__typename"] == "MessageUpdated"
                    and e["message"]["id"] == message_id
                    and e["message"]["embeds"]
                ),
                timeout=60,
            )
            assert updated["message"]["embeds"] == [
                {"title": "Stack Notes", "description": "From a local page"}
            ]
            assert "/notes" in site.paths

        # The indexer worker put it into OpenSearch.
        await until(
            owner_on_b, lambda ids: ids == [message_id], 60, guildId=world.guild_id, query=word
        )

        joined = (await b.as_user(world.member.token).execute(JOIN, {"c": world.voice_id})).ok()[
            "joinVoice"
        ]
        assert joined["sfuUrl"] == settings["STACK_SFU_URL"]
        assert joined["token"]


def test_down_stops_recorded_process_groups_and_spares_a_reused_pid(tmp_path: Path) -> None:
    """No engines: two `sleep` processes recorded as a stack's. One is recorded with another
    start time, as when its pid was reused after the stack died: `down` leaves it alone. The
    other, with a child in its process group, is stopped with its child."""
    stranger = subprocess.Popen(["sleep", "60"])
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $! > child; wait"], cwd=tmp_path, start_new_session=True
    )
    try:
        while not (tmp_path / "child").exists() or not (tmp_path / "child").read_text():
            time.sleep(0.02)
        child = int((tmp_path / "child").read_text())
        ticks = start_ticks(leader.pid)
        assert ticks is not None
        ours = Process("api-1", leader.pid, [], str(tmp_path / "log"), ticks)
        reused = Process("redis", stranger.pid, [], str(tmp_path / "log"), 1)
        state_dir = tmp_path / "stack"
        state_dir.mkdir()
        State([reused, ours]).save(state_dir / "state.json")

        down = _stack("down", "--dir", str(state_dir), "--timeout", "5")

        assert down.returncode == 0, down.stderr
        assert leader.wait(5) is not None
        assert not Path(f"/proc/{child}").exists() or "Z" in _proc_state(child)
        assert stranger.poll() is None
        assert not (state_dir / "state.json").exists()
    finally:
        stranger.kill()
        stranger.wait()
        if leader.poll() is None:
            os.killpg(leader.pid, 9)
            leader.wait()


def _proc_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat[stat.rindex(")") + 2 :].split()[0]
