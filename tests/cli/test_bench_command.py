"""`gochat bench`: a mixed load against a running server, reported per 1,000 users."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from tests.conftest import make_settings
from tests.support.server import RunningServer, run_server


async def bench(url: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gochat", "bench", "--url", url, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_bench_reports_per_thousand_users_after_every_delivery_arrived(
    server: RunningServer,
) -> None:
    code, out, err = await bench(
        server.url, "--users", "12", "--accounts", "4", "--guilds", "2",
        "--seconds", "3", "--rate", "60",
    )  # fmt: skip
    assert code == 0, err
    sends = int(re.search(r"sends: (\d+) \(", out).group(1))  # type: ignore[union-attr]
    delivered, expected = re.search(r"deliveries: ([\d,]+) of ([\d,]+)", out).groups()  # type: ignore[union-attr]
    assert sends > 0
    # Every message reaches the 6 sockets of its guild, and nothing else is counted.
    assert int(delivered.replace(",", "")) == int(expected.replace(",", "")) == sends * 6
    per_thousand = out.split("per 1,000 users:")[1]
    cores = float(re.search(r"CPU\s+([\d.]+) cores", per_thousand).group(1))  # type: ignore[union-attr]
    to_clients = float(re.search(r"([\d.]+) Mbit/s to clients", per_thousand).group(1))  # type: ignore[union-attr]
    assert cores > 0
    assert to_clients > 0
    assert re.search(r"memory\s+\d+ MiB for the sockets, plus \d+ MiB per process", per_thousand)


async def test_bench_says_which_setting_blocks_its_sign_ups(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", rate_register_per_ip="2/3600")
    async with run_server(settings) as server:
        code, out, err = await bench(server.url, "--users", "4", "--accounts", "3", "--guilds", "1")
    assert code == 1
    assert "GOCHAT_RATE_REGISTER_PER_IP" in err
    assert "Traceback" not in err
    assert out == ""
