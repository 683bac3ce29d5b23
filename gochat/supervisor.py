"""`gochat serve --workers N`: N API processes on one port.

Each child is a plain `gochat serve` that binds the port with SO_REUSEPORT, so the kernel
spreads connections across them; each gets its own snowflake worker id (GOCHAT_WORKER_ID + i)
and they share one Prometheus multiprocess directory, so /metrics sums their instruments. The
parent holds the port (bound, never listening) so that a port picked at random stays the
same for every child, restarts a child that dies, and passes SIGTERM on to all of them.
Events, presence and rate limits cross processes only through shared engines, so more than
one process needs the NATS bus (and Redis for presence and limits).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import structlog
from prometheus_client import multiprocess

from gochat.config import Settings

log = structlog.get_logger("gochat.supervisor")

MAX_WORKER_ID = 1023
# A child that dies this soon after it started is misconfigured, not unlucky: stop them all.
EARLY_EXIT_SECONDS = 10.0
RESTART_DELAY_SECONDS = 1.0


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def check(settings: Settings, count: int) -> str | None:
    """Why `count` processes cannot run with these settings, or None."""
    if count > 1 and not settings.bus_url.startswith("nats://"):
        return "--workers above 1 needs GOCHAT_BUS_URL=nats://... (events cross processes there)"
    if settings.worker_id + count - 1 > MAX_WORKER_ID:
        return f"GOCHAT_WORKER_ID + --workers must stay within {MAX_WORKER_ID}"
    return None


class Supervisor:
    def __init__(self, settings: Settings, count: int) -> None:
        self._settings = settings
        self._count = count
        self._stopping = False
        self._status = 0
        self._children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        self._holder = reuse_port_socket(settings.host, settings.port)
        self.port = int(self._holder.getsockname()[1])
        own_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
        self._metrics_dir = (
            Path(tempfile.mkdtemp(prefix="gochat-metrics-"))
            if own_dir
            else Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        )
        self._own_metrics_dir = own_dir

    def _spawn(self, index: int) -> None:
        env = {
            **os.environ,
            "GOCHAT_WORKER_ID": str(self._settings.worker_id + index),
            "PROMETHEUS_MULTIPROC_DIR": str(self._metrics_dir),
        }
        command = [
            sys.executable,
            "-m",
            "gochat",
            "serve",
            "--host",
            self._settings.host,
            "--port",
            str(self.port),
            "--reuse-port",
        ]
        child = subprocess.Popen(command, env=env)  # noqa: S603 - our own executable
        self._children[index] = (child, time.monotonic())

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
        for child, _ in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Run the children until SIGTERM or SIGINT; the exit status for the parent."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            for index in range(self._count):
                self._spawn(index)
            while True:
                for index, (child, started) in list(self._children.items()):
                    status = child.poll()
                    if status is None:
                        continue
                    multiprocess.mark_process_dead(child.pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]
                    if self._stopping:
                        del self._children[index]
                        continue
                    if time.monotonic() - started < EARLY_EXIT_SECONDS and status != 0:
                        log.error("supervisor.early_exit", process=index, status=status)
                        self._status = status if status > 0 else 1
                        del self._children[index]
                        self._stop(signal.SIGTERM, None)
                        continue
                    log.warning("supervisor.restart", process=index, status=status)
                    time.sleep(RESTART_DELAY_SECONDS)
                    self._spawn(index)
                if self._stopping and not self._children:
                    return self._status
                time.sleep(0.2)
        finally:
            self._holder.close()
            if self._own_metrics_dir:
                shutil.rmtree(self._metrics_dir, ignore_errors=True)
