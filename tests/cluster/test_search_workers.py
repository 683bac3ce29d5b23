"""The indexer at scale: API processes on NATS leave indexing to `gochat worker indexer`
processes sharing one JetStream consumer; one killed (SIGKILL) while messages stream in loses
nothing: afterwards the index holds exactly the stored messages."""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.test_search import ids_of, search, send, until
from tests.support.cluster import running_cluster
from tests.support.engines import NatsServer, RedisServer
from tests.support.guilds import make_world

pytestmark = pytest.mark.timeout(400)


async def test_a_killed_indexer_loses_nothing(
    postgres_database: str,
    nats_engine: NatsServer,
    redis_engine: RedisServer,
    opensearch_url: str,
    tmp_path: Path,
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
        [api] = await cluster.start(
            1,
            workers_in_process="false",
            search_url=f"{opensearch_url}/t{uuid.uuid4().hex[:12]}",
            rate_cost_per_user="100000000/60",
        )
        w = await make_world(api.client(http))
        sent = {await send(w.member.client, w.text_id, f"streamed m{n}"): n for n in range(5)}
        # No indexer runs yet: the events wait in the stream.
        assert ids_of(await search(w.owner.client, guildId=w.guild_id, query="streamed")) == []

        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gochat", "worker", "indexer", env=api.env
            )
            for _ in range(2)
        ]
        try:
            await until(
                w.owner.client,
                lambda ids: len(ids) == 5,
                timeout=60,
                guildId=w.guild_id,
                query="streamed",
            )
            for n in range(5, 120):
                sent[await send(w.member.client, w.text_id, f"streamed m{n}")] = n
                if n == 40:
                    workers[0].kill()
                    await workers[0].wait()
            # What the killed worker held unacknowledged comes again after the ack wait (60 s).
            await until(
                w.owner.client,
                lambda ids: len(ids) == 100,
                timeout=200,
                total=len(sent),
                guildId=w.guild_id,
                query="streamed",
                first=100,
            )
            for message_id, n in random.sample(sorted(sent.items()), 15):
                found = await search(w.owner.client, guildId=w.guild_id, query=f"m{n}")
                assert ids_of(found) == [message_id]
        finally:
            for each in workers:
                if each.returncode is None:
                    each.kill()
                    await each.wait()
