"""Pacing the garbage collector's full passes in a long-running API process.

A full pass (generation 2) walks every tracked object. An API process holding 10,000 sockets
tracks over a million (a socket, its protocol state, its subscriptions and feeds), so each full
pass stops the process for the better part of a second, and under a connection storm the
collector runs them again and again. Nearly all of those objects live as long as their socket.

So the survivors of every full pass are frozen (moved where the collector does not look,
`gc.freeze`): the next passes walk only what was made since. Objects that die later are still
freed by their reference counts; only reference cycles among frozen objects would wait, so
every `full_interval_seconds` the frozen objects are handed back (`gc.unfreeze`) and the next
full pass walks everything once, reclaims those cycles, and freezes what survives again.

Under load a full pass also freezes whatever is in flight: a request's objects (its protocol
cycle, futures, GraphQL executor) are cycles that die a moment later, frozen, so memory grew by
about 1.4 KB per request until the interval (1,000 sends/s: 100 MB a minute). So the frozen
set may grow by `max_frozen_growth` over what the last complete walk left (and at least
`min_frozen_growth` objects); past that the frozen objects are handed back at once.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import structlog

log = structlog.get_logger("gochat.gc")


class CollectorPacing:
    def __init__(
        self,
        *,
        full_interval_seconds: float,
        max_frozen_growth: float = 0.25,
        min_frozen_growth: int = 50_000,
    ) -> None:
        self._interval = full_interval_seconds
        self._max_growth = max_frozen_growth
        self._min_growth = min_frozen_growth
        self._timer: asyncio.TimerHandle | None = None
        self._started_at = 0.0
        # What the last complete walk left frozen, and whether the next full pass is one.
        self._walked = 0
        self._walks_all = False
        self.full_passes = 0
        self.early_handbacks = 0
        self.longest_full_pass_seconds = 0.0

    def start(self) -> None:
        """Freeze what start-up built, and from now on what survives each full pass."""
        gc.freeze()
        self._walked = gc.get_freeze_count()
        gc.callbacks.append(self._on_collection)
        if self._interval > 0:
            self._schedule()

    def stop(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        # The collector calls this from whichever thread triggered it, with its lists in a
        # consistent state on "stop": freezing there is safe and takes constant time.
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started_at = time.perf_counter()
            return
        took = time.perf_counter() - self._started_at
        self.full_passes += 1
        self.longest_full_pass_seconds = max(self.longest_full_pass_seconds, took)
        gc.freeze()
        frozen = gc.get_freeze_count()
        if self._walks_all:
            self._walks_all = False
            self._walked = frozen
        elif frozen > self._walked + max(self._walked * self._max_growth, self._min_growth):
            self.early_handbacks += 1
            self._hand_back()

    def _schedule(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._unfreeze)

    def _unfreeze(self) -> None:
        self._hand_back()
        self._schedule()

    def _hand_back(self) -> None:
        log.debug("gc.unfreeze", frozen=gc.get_freeze_count())
        gc.unfreeze()
        self._walks_all = True
