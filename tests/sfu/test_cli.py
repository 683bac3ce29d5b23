"""`gochat sfu`: the SFU as its own process, as an operator runs it."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gochat.discovery import SfuInstance
from gochat.discovery.etcd import EtcdSfuRegistry
from gochat.voice.tokens import VoiceTokens
from tests.sfu.conftest import CHANNEL, GUILD
from tests.support.engines import EtcdServer, free_port
from tests.support.voice import VoiceClient, wait_until

pytestmark = pytest.mark.timeout(90)
SECRET = "k" * 40


async def test_gochat_sfu_serves_members_from_its_own_process(
    tmp_path: Path, etcd_engine: EtcdServer
) -> None:
    port = free_port()
    discovery = f"{etcd_engine.url}?prefix=/test/{secrets.token_hex(6)}"
    log_path = tmp_path / "sfu.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
    env |= {
        "GOCHAT_JWT_SECRET": SECRET,
        "GOCHAT_DATA_DIR": str(tmp_path),
        "GOCHAT_SFU_ICE_HOSTS": '["127.0.0.1"]',
        "GOCHAT_DISCOVERY_URL": discovery,
        "GOCHAT_SFU_PUBLIC_URL": f"ws://127.0.0.1:{port}/sfu",
    }
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gochat",
                "sfu",
                "--port",
                str(port),
                "--id",
                "sfu-cli",
                "--region",
                "eu",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    clients: list[VoiceClient] = []
    try:
        async with httpx.AsyncClient() as http:

            async def healthy() -> bool:
                try:
                    return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                except httpx.HTTPError:
                    return False

            for _ in range(300):
                assert proc.poll() is None, log_path.read_text()
                if await healthy():
                    break
                await asyncio.sleep(0.1)
            health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
            assert health == {"sfuId": "sfu-cli", "region": "eu", "load": 0}
        tokens = VoiceTokens(secret=SECRET, issuer="gochat")
        for user in (1, 2):
            token, _ = tokens.issue(
                user_id=user,
                guild_id=GUILD,
                channel_id=CHANNEL,
                sfu_id="sfu-cli",
                session_id=20 + user,
                can_speak=True,
                can_video=False,
            )
            client = VoiceClient(f"ws://127.0.0.1:{port}/sfu", token)
            clients.append(client)
            assert (await client.join())["op"] == "joined"
        await wait_until(lambda: clients[0].loud["2"] >= 10 and clients[1].loud["1"] >= 10)
        # Its /metrics: rooms, members, the streams it receives and forwards, their packets.
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        figures = {
            s.name: s.value
            for family in text_string_to_metric_families(scraped)
            for s in family.samples
        }
        assert figures["gochat_sfu_rooms"] == 1
        assert figures["gochat_sfu_members"] == 2
        assert figures["gochat_sfu_streams_received"] >= 2  # each member's audio
        assert figures["gochat_sfu_streams_forwarded"] >= 2  # to the other member
        assert figures["gochat_sfu_packets_received"] >= 20
        assert figures["gochat_sfu_packets_lost"] >= 0
        assert figures["gochat_process_resident_memory_bytes"] > 0
        # It announced itself in etcd, where the API picks SFUs, with its members as load.
        registry = EtcdSfuRegistry.from_url(discovery)
        try:
            for _ in range(300):
                live = await registry.live("eu")
                if live and live[0].load == 2:
                    break
                await asyncio.sleep(0.05)
            assert live == [SfuInstance("sfu-cli", "eu", f"ws://127.0.0.1:{port}/sfu", 2)]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
            assert await registry.live() == []  # withdrawn on the way out
        finally:
            await registry.close()
    finally:
        for client in clients:
            await client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    output = log_path.read_text()
    assert "Traceback" not in output, output
