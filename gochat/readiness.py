"""Readiness: whether each dependency this process uses answers, for `/ready` and for the log.

A check is a probe (a round trip to the dependency) and whether the process is useless without
it. Required: the SQL database and the message store (no request works without them). Reported
but not required: the bus (events wait in the outbox and are relayed once it is back), Redis
(rate limits and presence fall back to this process) and the blob store (only files fail).

The state of each dependency is logged once per change (`dependency.down`, `dependency.up`),
from the probes a background task runs, so an outage is two lines in the log however many
requests meet it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("gochat.readiness")

PROBE_TIMEOUT_SECONDS = 2.0
WATCH_INTERVAL_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    probe: Callable[[], Awaitable[object]]
    required: bool = True


@dataclass(frozen=True)
class Outcome:
    ok: bool
    latency_ms: float
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "latencyMs": self.latency_ms, "error": self.error}


class Readiness:
    def __init__(self, checks: Sequence[Check]) -> None:
        self._checks = list(checks)
        self._up: dict[str, bool] = {}
        self._stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def _probe(self, check: Check) -> Outcome:
        begun = time.perf_counter()
        error: str | None = None
        try:
            await asyncio.wait_for(check.probe(), PROBE_TIMEOUT_SECONDS)
        except TimeoutError:
            error = f"no answer in {PROBE_TIMEOUT_SECONDS:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its text
            error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        latency = round((time.perf_counter() - begun) * 1000, 2)
        self._record(check, error)
        return Outcome(ok=error is None, latency_ms=latency, error=error)

    def _record(self, check: Check, error: str | None) -> None:
        was_up = self._up.get(check.name, True)
        self._up[check.name] = error is None
        if was_up and error is not None:
            log.warning(
                "dependency.down", dependency=check.name, required=check.required, error=error
            )
        elif not was_up and error is None:
            log.info("dependency.up", dependency=check.name)

    async def report(self, *, draining: bool = False) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body of `/ready`: every check, run concurrently; 503 while the
        process is shutting down, so that balancers stop sending it new work first."""
        outcomes = await asyncio.gather(*(self._probe(c) for c in self._checks))
        failed_required = any(
            not o.ok and c.required for c, o in zip(self._checks, outcomes, strict=True)
        )
        if draining:
            status = "draining"
        elif failed_required:
            status = "unavailable"
        elif all(o.ok for o in outcomes):
            status = "ready"
        else:
            status = "degraded"
        body = {
            "status": status,
            "checks": {c.name: o.as_json() for c, o in zip(self._checks, outcomes, strict=True)},
        }
        return (503 if draining or failed_required else 200), body

    def start(self, interval_seconds: float = WATCH_INTERVAL_SECONDS) -> None:
        """Probe in the background so state changes are logged between requests too."""
        self._watcher = asyncio.create_task(self._watch(interval_seconds))

    async def _watch(self, interval_seconds: float) -> None:
        while not self._stop.is_set():
            await asyncio.gather(*(self._probe(c) for c in self._checks))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval_seconds)

    async def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            await self._watcher
