"""File benchmarks (not a test): upload throughput through the embedded endpoint, preview time
for a 12-megapixel JPEG, and the presigned round trip on SeaweedFS.

    python bench/files.py [--megabytes 500] [--previews 15] [--round-trips 30]

- Upload: one `gochat serve` process (SQLite, blobs on local disk) takes a `--megabytes` MiB file
  through `PUT /uploads/{id}` from this process (httpx, streamed from a generator, so the
  client holds one chunk at a time). Reported: MB/s over the PUT, and how much the server's
  resident memory grew during it (sampled every 20 ms from /proc).
- Preview: the media worker's own function makes the 350 px WebP of a 4000 x 3000 JPEG,
  `--previews` times in this process; median and worst.
- Presigned round trip: against a server whose blobs are on SeaweedFS, `--round-trips` times
  createUpload (the presigned PUT), the PUT of a 64 KiB file straight to SeaweedFS, and
  sendMessage using it (the server heads and reads the object); median and p95 of the whole.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gochat import media
from tests.support.engines import seaweedfs_server

CREATE = """mutation($i: CreateUploadInput!) { createUpload(input: $i) {
  slot { id url method headers { name value } } } }"""
SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id } } }"""
CHUNK = 256 << 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(data_dir: Path, **env_extra: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "GOCHAT_DATA_DIR": str(data_dir),
        "GOCHAT_LOG_LEVEL": "warning",
        "GOCHAT_RATE_COST_PER_USER": "1000000000/60",
        "GOCHAT_ATTACHMENT_MAX_BYTES": str(2 << 30),
        "GOCHAT_UPLOAD_MAX_OPEN_SLOTS": "1000",
        **env_extra,
    }
    gochat = Path(sys.executable).with_name("gochat")
    proc = subprocess.Popen([str(gochat), "serve", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


async def gql(
    http: httpx.AsyncClient, url: str, query: str, variables: dict, token: str = ""
) -> dict:  # type: ignore[type-arg]
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = (
        await http.post(
            f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    ).json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]  # type: ignore[no-any-return]


async def user_and_channel(http: httpx.AsyncClient, url: str) -> tuple[str, str]:
    handle = f"bench{time.time_ns() % 10**9}"
    await gql(
        http,
        url,
        "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
        {
            "i": {
                "email": f"{handle}@example.com",
                "handle": handle,
                "displayName": "Bench",
                "password": "benchmark-password",
            }
        },
    )
    login = await gql(
        http,
        url,
        "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }",
        {"i": {"email": f"{handle}@example.com", "password": "benchmark-password"}},
    )
    token = login["login"]["session"]["accessToken"]
    guild = await gql(
        http,
        url,
        'mutation { createGuild(input: {name: "Bench"}) { guild { channels { id type } } } }',
        {},
        token,
    )
    channel = next(
        c["id"] for c in guild["createGuild"]["guild"]["channels"] if c["type"] == "TEXT"
    )
    return token, channel


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def upload_throughput(megabytes: int) -> None:
    size = megabytes << 20
    with (
        tempfile.TemporaryDirectory(prefix="gochat-bench-files-") as tmp,
        serve(Path(tmp)) as (url, pid),
    ):
        async with httpx.AsyncClient(timeout=600) as http:
            token, channel = await user_and_channel(http, url)
            slot = (
                await gql(
                    http,
                    url,
                    CREATE,
                    {
                        "i": {
                            "purpose": "ATTACHMENT",
                            "channelId": channel,
                            "filename": "big.bin",
                            "size": size,
                            "contentType": "application/octet-stream",
                        }
                    },
                    token,
                )
            )["createUpload"]["slot"]
            block = os.urandom(CHUNK)

            async def body() -> AsyncIterator[bytes]:
                for _ in range(size // CHUNK):
                    yield block

            baseline = rss_bytes(pid)
            peak = baseline
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, rss_bytes(pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            response = await http.put(
                slot["url"],
                content=body(),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
            elapsed = time.perf_counter() - started
            stop.set()
            sampler.join()
            assert response.status_code == 204, response.text
            await gql(http, url, SEND, {"c": channel, "a": [slot["id"]]}, token)
    print(
        f"upload {megabytes} MiB through /uploads: {size / elapsed / 1e6:.0f} MB/s (10^6 B), server RSS +{(peak - baseline) / 2**20:.1f} MiB"
    )


def preview_time(count: int) -> None:
    out = io.BytesIO()
    Image.effect_noise((4000, 3000), 64).convert("RGB").save(out, "JPEG", quality=90)
    data = out.getvalue()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        media.webp_preview(io.BytesIO(data), 350)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"preview of a 12 MP JPEG ({len(data) / 2**20:.1f} MiB): median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms ({count} runs)"
    )


async def presigned_round_trip(count: int) -> None:
    with (
        seaweedfs_server() as s3,
        tempfile.TemporaryDirectory(prefix="gochat-bench-s3-") as tmp,
        serve(Path(tmp), GOCHAT_BLOBS_URL=s3.url("bench-files")) as (url, _),
    ):
        async with httpx.AsyncClient(timeout=60) as http:
            token, channel = await user_and_channel(http, url)
            body = os.urandom(64 << 10)
            times = []
            for _ in range(count):
                started = time.perf_counter()
                slot = (
                    await gql(
                        http,
                        url,
                        CREATE,
                        {
                            "i": {
                                "purpose": "ATTACHMENT",
                                "channelId": channel,
                                "filename": "a.bin",
                                "size": len(body),
                                "contentType": "application/octet-stream",
                            }
                        },
                        token,
                    )
                )["createUpload"]["slot"]
                headers = {h["name"]: h["value"] for h in slot["headers"]}
                headers.pop("Content-Length")
                put = await http.put(slot["url"], content=body, headers=headers)
                assert put.status_code == 200, put.text
                await gql(http, url, SEND, {"c": channel, "a": [slot["id"]]}, token)
                times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"presigned round trip on SeaweedFS (createUpload + PUT 64 KiB + sendMessage): median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({count} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--previews", type=int, default=15)
    parser.add_argument("--round-trips", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(upload_throughput(args.megabytes))
    preview_time(args.previews)
    asyncio.run(presigned_round_trip(args.round_trips))


if __name__ == "__main__":
    main()
