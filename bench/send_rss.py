"""Memory of an API process under sustained sends (not a test): VmRSS of an embedded
`gochat serve` after each of --rounds windows of closed-loop sends (bench/sendload, Go, 64
concurrent senders). A process that keeps nothing per message stays flat after the first
window; the growth per send is printed.

    python bench/send_rss.py [--rounds 5] [--seconds 15] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.messages import build_sendload, measure_send_go, serve, setup_user_and_channel
from bench.rss import vm_rss_kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        sendload = build_sendload(work)
        with serve(f"sqlite:///{work / 'bench.db'}", work / "data") as server:
            token, _, channel = asyncio.run(setup_user_and_channel(server.url))
            start = vm_rss_kib(server.pid) / 1024
            print(f"idle: {start:.0f} MiB")
            sent = 0.0
            after_first = 0.0
            for n in range(args.rounds):
                rate = measure_send_go(
                    sendload,
                    server.url,
                    token,
                    channel,
                    seconds=args.seconds,
                    concurrency=args.concurrency,
                )
                time.sleep(2)
                rss = vm_rss_kib(server.pid) / 1024
                print(f"round {n + 1}: {rate:.0f} sends/s, RSS {rss:.0f} MiB")
                if n == 0:
                    after_first = rss
                else:
                    sent += rate * args.seconds
            if sent:
                growth = (rss - after_first) * 1024 * 1024 / sent
                print(f"growth after the first round: {growth:.0f} bytes per send")


if __name__ == "__main__":
    main()
