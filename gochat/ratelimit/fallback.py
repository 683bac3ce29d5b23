"""Rate limits that survive their shared store going away: while Redis is unreachable, each
process counts on its own (per-process limits, still limits) instead of refusing every
request, and goes back to the shared counters as soon as Redis answers again."""

from __future__ import annotations

import structlog

from gochat.errors import Unavailable
from gochat.ratelimit import RateLimiter

log = structlog.get_logger("gochat.ratelimit")


class FallbackRateLimiter:
    def __init__(self, shared: RateLimiter, local: RateLimiter) -> None:
        self._shared = shared
        self._local = local
        self.degraded = False

    async def hit(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> None:
        try:
            await self._shared.hit(key, limit=limit, window_seconds=window_seconds, cost=cost)
        except Unavailable:
            if not self.degraded:
                log.warning("ratelimit.degraded", detail="shared rate limit store unreachable")
            self.degraded = True
            await self._local.hit(key, limit=limit, window_seconds=window_seconds, cost=cost)
            return
        if self.degraded:
            log.info("ratelimit.recovered")
            self.degraded = False

    async def space(
        self, key: str, *, interval_seconds: float, now: float, token: str | None = None
    ) -> None:
        try:
            await self._shared.space(key, interval_seconds=interval_seconds, now=now, token=token)
        except Unavailable:
            if not self.degraded:
                log.warning("ratelimit.degraded", detail="shared rate limit store unreachable")
            self.degraded = True
            await self._local.space(key, interval_seconds=interval_seconds, now=now, token=token)
            return
        if self.degraded:
            log.info("ratelimit.recovered")
            self.degraded = False
