"""`gochat search reindex`: rebuilds an index from the message store, and resumes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.test_search import SEND, ids_of, search, until
from tests.conftest import make_settings
from tests.support.client import GraphQLClient
from tests.support.guilds import make_world
from tests.support.server import run_server

pytestmark = pytest.mark.timeout(240)


def reindex(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochat", "search", "reindex", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


async def test_reindex_fills_an_empty_index_and_resumes_from_its_position(
    database_url: str, tmp_path: Path, opensearch_url: str
) -> None:
    data = tmp_path / "data"
    first_index = f"{opensearch_url}/t{uuid.uuid4().hex[:12]}"
    settings = make_settings(database_url, data, search_url=first_index)
    async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
        w = await make_world(GraphQLClient(server.url, http))
        sent = [
            (await w.owner.client.execute(SEND, {"c": w.text_id, "t": f"archived note {n}"})).ok()[
                "sendMessage"
            ]["message"]["id"]
            for n in range(3)
        ]
        # A thread's messages are rebuilt with its parent's.
        thread = (
            await w.owner.client.execute(
                'mutation($c: ID!) { createThread(input: {channelId: $c, name: "t"}) { thread { id } } }',
                {"c": w.text_id},
            )
        ).ok()["createThread"]["thread"]["id"]
        sent.append(
            (
                await w.owner.client.execute(SEND, {"c": thread, "t": "archived note in a thread"})
            ).ok()["sendMessage"]["message"]["id"]
        )
        await until(w.owner.client, lambda ids: len(ids) == 4, guildId=w.guild_id, query="archived")

    # A new, empty index (a new cluster, or a lost one): nothing is found until a rebuild.
    empty_index = f"{opensearch_url}/t{uuid.uuid4().hex[:12]}"
    env = {
        "GOCHAT_DATABASE_URL": database_url,
        "GOCHAT_DATA_DIR": str(data),
        "GOCHAT_JWT_SECRET": settings.signing_secret(),
        "GOCHAT_SEARCH_URL": empty_index,
    }
    rebuilt = make_settings(
        database_url, data, search_url=empty_index, jwt_secret=settings.signing_secret()
    )
    async with run_server(rebuilt) as server, httpx.AsyncClient(timeout=30) as http:
        client = GraphQLClient(server.url, http).as_user(w.owner.client.token or "")
        assert ids_of(await search(client, guildId=w.guild_id, query="archived")) == []

        # A stopped run left its position past every channel: resuming indexes nothing more.
        cursor = data / "search-reindex-all.json"
        cursor.write_text(json.dumps({"channel_id": 2**62, "message_id": None}))
        resumed = await asyncio.to_thread(reindex, env)
        assert resumed.returncode == 0, resumed.stderr
        assert f"resuming at channel {2**62}" in resumed.stdout
        assert "indexed 0 messages" in resumed.stdout
        assert not cursor.exists()

        done = await asyncio.to_thread(reindex, env, "--guild", w.guild_id)
        assert done.returncode == 0, done.stderr
        assert "indexed 4 messages" in done.stdout
        found = await until(client, lambda ids: len(ids) == 4, guildId=w.guild_id, query="archived")
        assert sorted(ids_of(found)) == sorted(sent)

        refused = await asyncio.to_thread(reindex, env, "--guild", "general")
        assert refused.returncode == 2
        assert "--guild takes a guild id" in refused.stderr
