"""In-process fixed-window rate limiter, bounded in memory by pruning expired windows."""

from __future__ import annotations

import time

from gochat.errors import RateLimited

_PRUNE_EVERY = 1024


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._hits = 0
        # key -> (when the next action is allowed, the token of the last one allowed)
        self._spaced: dict[str, tuple[float, str | None]] = {}

    async def hit(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> None:
        now = time.monotonic()
        self._hits += 1
        if self._hits % _PRUNE_EVERY == 0:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        resets_at, count = self._windows.get(key, (0.0, 0))
        if resets_at <= now:
            resets_at, count = now + window_seconds, 0
        if count + cost > limit:
            raise RateLimited("too many requests; try again later", retry_after=resets_at - now)
        self._windows[key] = (resets_at, count + cost)

    async def space(
        self, key: str, *, interval_seconds: float, now: float, token: str | None = None
    ) -> None:
        self._hits += 1
        if self._hits % _PRUNE_EVERY == 0:
            self._spaced = {k: v for k, v in self._spaced.items() if v[0] > now}
        allowed_at, last_token = self._spaced.get(key, (0.0, None))
        if now < allowed_at:
            if token is not None and token == last_token:
                return
            raise RateLimited(
                "slowmode: wait before sending again",
                retry_after=min(allowed_at - now, interval_seconds),
            )
        self._spaced[key] = (now + interval_seconds, token)
