"""Workers as their own processes at scale: API processes on NATS with
GOCHAT_WORKERS_IN_PROCESS=false leave previews to `gochat worker media` processes, which share
one JetStream consumer; a worker killed mid-way loses nothing, because what it had not
acknowledged is delivered again to the one that remains."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import running_cluster
from tests.support.engines import NatsServer, RedisServer
from tests.support.files import jpeg, upload
from tests.support.guilds import make_world
from tests.workers.test_media_catch_up import SEND, preview_url, wait_for_preview

pytestmark = pytest.mark.timeout(300)


async def test_worker_processes_make_previews_for_api_processes(
    postgres_database: str, nats_engine: NatsServer, redis_engine: RedisServer, tmp_path: Path
) -> None:
    async with (
        running_cluster(
            tmp_path / "cluster",
            database_url=postgres_database,
            bus_url=nats_engine.url,
            redis_url=redis_engine.url,
        ) as cluster,
        httpx.AsyncClient(timeout=30) as http,
    ):
        [api] = await cluster.start(1, workers_in_process="false")
        w = await make_world(api.client(http))
        upload_ids = [
            await upload(w.member, http, jpeg(), content_type="image/jpeg", channel_id=w.text_id)
            for _ in range(2)
        ]
        first = (await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_ids[0]]})).ok()
        first_id = first["sendMessage"]["message"]["id"]
        assert await preview_url(w.member.client, w.member.token, first_id) is None

        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gochat", "worker", "media", env=api.env
            )
            for _ in range(2)
        ]
        try:
            await wait_for_preview(w.member.client, w.member.token, first_id)
            # One worker dies; the other takes whatever comes next (and anything the dead one
            # held unacknowledged, after the ack wait).
            workers[0].kill()
            await workers[0].wait()
            second = await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_ids[1]]})
            second_id = second.ok()["sendMessage"]["message"]["id"]
            # A fetch the dead worker had pending may have taken it: delivered again after the
            # consumer's ack wait (60 s).
            await wait_for_preview(w.member.client, w.member.token, second_id, timeout=150)
            workers[1].send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await workers[1].wait() == 0
        finally:
            for each in workers:
                if each.returncode is None:
                    each.kill()
                    await each.wait()
