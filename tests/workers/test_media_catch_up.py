"""The media worker's queue is durable: a preview whose job was recorded but never handled is
made when a worker runs again, and one whose event was cut off by a crash before it was even
published is recorded by the outbox relay at the next start. The job table is the queue here
(embedded, no bus server); `gochat worker media` can also run beside `gochat serve`."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.client import GraphQLClient
from tests.support.cluster import Cluster, GochatProcess
from tests.support.files import jpeg, upload
from tests.support.guilds import World, make_world

pytestmark = pytest.mark.timeout(240)

SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id } } }"""
PREVIEW = "query($id: ID!) { message(id: $id) { attachments { previewUrl } } }"
CRASH_EXIT_STATUS = 70


async def preview_url(client: GraphQLClient, token: str, message_id: str) -> str | None:
    data = (await client.execute(PREVIEW, {"id": message_id}, token=token)).ok()
    found: str | None = data["message"]["attachments"][0]["previewUrl"]
    return found


async def wait_for_preview(
    client: GraphQLClient, token: str, message_id: str, *, timeout: float = 60
) -> str:
    async with asyncio.timeout(timeout):
        while (url := await preview_url(client, token, message_id)) is None:
            await asyncio.sleep(0.05)
    return url


def jobs_status(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gochat", "tools", "jobs", "status"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    return done.stdout


async def media_jobs(env: dict[str, str]) -> tuple[int, int]:
    """(queued, parked) media jobs, as `gochat tools jobs status` reports them."""
    line = next(x for x in (await asyncio.to_thread(jobs_status, env)).splitlines() if "media" in x)
    match = re.fullmatch(r"media: (\d+) queued, (\d+) parked", line)
    assert match is not None, line
    return int(match[1]), int(match[2])


async def wait_for_jobs(env: dict[str, str], *, queued: bool) -> None:
    async with asyncio.timeout(60):
        while ((await media_jobs(env))[0] > 0) != queued:
            await asyncio.sleep(0.2)
    assert (await media_jobs(env))[1] == 0


def embedded_node(tmp_path: Path, **settings: str) -> GochatProcess:
    cluster = Cluster(
        tmp_path / "nodes",
        database_url=f"sqlite:///{tmp_path / 'gochat.db'}",
        bus_url="memory://",
        redis_url=None,
    )
    return cluster.add(**settings)


async def send_image(node: GochatProcess, http: httpx.AsyncClient, w: World) -> str:
    upload_id = await upload(
        w.member, http, jpeg(), content_type="image/jpeg", channel_id=w.text_id
    )
    sent = await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})
    message_id: str = sent.ok()["sendMessage"]["message"]["id"]
    return message_id


async def test_a_queued_preview_is_made_by_a_worker_process_started_later(tmp_path: Path) -> None:
    node = embedded_node(tmp_path, workers_in_process="false")
    await node.start()
    worker: asyncio.subprocess.Process | None = None
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            w = await make_world(node.client(http))
            message_id = await send_image(node, http, w)
            # Recorded for the media worker, which no process runs yet.
            await wait_for_jobs(node.env, queued=True)
            assert await preview_url(w.member.client, w.member.token, message_id) is None

            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gochat", "worker", "media", env=node.env
            )
            url = await wait_for_preview(w.member.client, w.member.token, message_id)
            assert (await http.get(url)).headers["content-type"] == "image/webp"
            await wait_for_jobs(node.env, queued=False)
            worker.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await worker.wait() == 0
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
            await worker.wait()
        await node.stop()


async def test_a_preview_whose_event_a_crash_cut_off_is_made_at_the_next_start(
    tmp_path: Path,
) -> None:
    node = embedded_node(tmp_path)
    await node.start()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            w = await make_world(node.client(http))
            upload_id = await upload(
                w.member, http, jpeg(), content_type="image/jpeg", channel_id=w.text_id
            )
            await node.restart(env={"GOCHAT_FAULT_INJECTION": "crash-before-publish"})
            with pytest.raises(httpx.TransportError):  # the process dies mid-request
                await http.post(
                    f"{node.url}/graphql",
                    json={"query": SEND, "variables": {"c": w.text_id, "a": [upload_id]}},
                    headers={"authorization": f"Bearer {w.member.token}"},
                )
            assert await node.wait_exited(timeout=30) == CRASH_EXIT_STATUS, node.log_tail()

            await node.restart(env={"GOCHAT_FAULT_INJECTION": None})
            history = await w.member.client.execute(
                "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages(last: 1) {"
                " edges { node { id attachments { id } } } } } } }",
                {"c": w.text_id},
            )
            [edge] = history.ok()["channel"]["messages"]["edges"]
            message = edge["node"]
            assert message["attachments"] == [{"id": upload_id}]
            await wait_for_preview(w.member.client, w.member.token, message["id"])
            await wait_for_jobs(node.env, queued=False)
    finally:
        await node.stop()


def test_worker_refuses_an_unknown_kind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gochat", "worker", "nosuch"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")},
            "GOCHAT_DATA_DIR": str(tmp_path),
        },
    )
    assert done.returncode == 2
    assert "no worker named 'nosuch' (known: embedder, indexer, media)" in done.stderr
