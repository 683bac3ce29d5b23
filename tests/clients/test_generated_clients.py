"""The typed clients in clients/, generated from schema.graphql and clients/operations: they are
up to date, the TypeScript one compiles with `tsc --strict`, and both run their operations
(login, sidebar, events subscription, send, history) against a live server."""

from __future__ import annotations

import asyncio
import filecmp
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.engines import missing_engine
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, text_channel
from tests.support.server import RunningServer

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "clients" / "typescript"
GENERATED = {
    "clients/typescript/src/generated": TS / "src" / "generated",
    "clients/python/gochat_client": ROOT / "clients" / "python" / "gochat_client",
}
REGENERATE = "scripts/generate-clients"

pytestmark = pytest.mark.timeout(600)  # the first test may install the generators


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="session")
def codegen_tools() -> None:
    """graphql-codegen and tsc (npm ci, cached) and ariadne-codegen (its own virtualenv)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing_engine("Node.js and npm are not installed (the typed clients need them)")
    subprocess.run([str(ROOT / "scripts" / "generate-clients"), "--tools"], check=True)


def _differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [*compared.left_only, *compared.right_only, *compared.diff_files]
    for name, sub in compared.subdirs.items():
        found += [f"{name}/{d}" for d in _differences(Path(sub.left), Path(sub.right))]
    return found


def test_the_committed_clients_are_generated_from_the_current_schema(
    codegen_tools: None, tmp_path: Path
) -> None:
    subprocess.run([str(ROOT / "scripts" / "generate-clients"), "--out", str(tmp_path)], check=True)
    stale = {
        where: differences
        for where, committed in GENERATED.items()
        if (differences := _differences(tmp_path / where, committed))
    }
    assert not stale, f"generated clients are stale ({stale}): run {REGENERATE} and commit"


async def _chat_setup(client: GraphQLClient) -> tuple[str, str, str]:
    owner = await signed_up(client)
    guild = await create_guild(owner, "Typed Clients")
    return owner.email, owner.password, await text_channel(owner.client, guild["id"])


async def test_the_typescript_client_compiles_strictly_and_runs_against_a_live_server(
    codegen_tools: None, server: RunningServer, client: GraphQLClient, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    tsc = TS / "node_modules" / ".bin" / "tsc"
    compiled = subprocess.run(
        [str(tsc), "-p", str(TS / "tsconfig.json"), "--strict", "--outDir", str(out)],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    # Node resolves the client's packages from the directory the compiled files are in.
    (out / "node_modules").symlink_to(TS / "node_modules")
    (out / "package.json").write_text('{"type": "module"}')

    email, password, channel = await _chat_setup(client)
    process = await asyncio.create_subprocess_exec(
        "node",
        str(out / "demo.js"),
        f"{server.url}/graphql",
        email,
        password,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    seen = json.loads(stdout.decode().strip().splitlines()[-1])
    assert seen["channelId"] == channel
    assert seen["event"]["channelId"] == channel
    assert seen["event"]["content"].startswith("hello from TypeScript")
    assert seen["retryCreated"] is False and seen["retryId"] is True
    assert seen["event"]["content"] in seen["history"]


async def test_the_python_client_runs_against_a_live_server(
    codegen_tools: None, server: RunningServer, client: GraphQLClient
) -> None:
    from gochat_client import GoChatClient
    from gochat_client.enums import ChannelType
    from gochat_client.events import EventsEventsMessageCreated
    from gochat_client.history import HistoryChannelTextChannel

    email, password, channel = await _chat_setup(client)
    endpoint = f"{server.url}/graphql"
    async with GoChatClient(url=endpoint) as anonymous:
        session = (await anonymous.login(email=email, password=password)).login.session
    token = session.access_token
    async with GoChatClient(
        url=endpoint,
        headers={"authorization": f"Bearer {token}"},
        ws_url=endpoint.replace("http://", "ws://"),
        ws_connection_init_payload={"authorization": f"Bearer {token}"},
    ) as api:
        sidebar = await api.sidebar()
        channels = [c for g in sidebar.me.guilds for c in g.channels if c.type_ == ChannelType.TEXT]
        assert [c.id for c in channels] == [channel]

        events: asyncio.Queue[EventsEventsMessageCreated] = asyncio.Queue()

        async def listen() -> None:
            async for event in api.events():
                if isinstance(event.events, EventsEventsMessageCreated):
                    await events.put(event.events)

        listener = asyncio.create_task(listen())
        try:
            # The subscription starts asynchronously: send until the stream shows ours.
            nonce = uuid.uuid4().hex
            received = None
            first = None
            deadline = time.monotonic() + 30
            attempt = 0
            while received is None and time.monotonic() < deadline:
                sent = await api.send(
                    channel_id=channel,
                    content=f"hello from Python {attempt}",
                    nonce=f"{nonce}-{attempt}",
                )
                first = first or sent
                attempt += 1
                try:
                    while received is None:
                        event = await asyncio.wait_for(events.get(), timeout=2)
                        if event.message.id == sent.send_message.message.id:
                            received = event
                except TimeoutError:
                    continue
        finally:
            listener.cancel()
            with pytest.raises(asyncio.CancelledError):
                await listener
        assert received is not None, "no MessageCreated event arrived"
        assert received.message.channel_id == channel
        assert first is not None
        again = await api.send(
            channel_id=channel, content="hello from Python 0", nonce=f"{nonce}-0"
        )
        assert again.send_message.created is False
        assert again.send_message.message.id == first.send_message.message.id

        history = await api.history(channel_id=channel, last=50)
        assert isinstance(history.channel, HistoryChannelTextChannel)
        assert history.channel.messages is not None
        contents = [edge.node.content for edge in history.channel.messages.edges]
        assert received.message.content in contents
        assert history.channel.messages.edges[-1].node.created_at.tzinfo is not None
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(f"{server.url}/ready")).status_code == 200
