"""The rate limiter port: fixed-window counters by key. Adapters: in-process now, Redis for
several processes. Keys are built by domain services (`login:ip:1.2.3.4`)."""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> None:
        """Count one request against `key`; raise RateLimited once `limit` is exceeded
        within the current window, with the seconds until it resets."""
