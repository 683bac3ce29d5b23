"""The rate limiter port: fixed-window counters by key. Adapters: in-process now, Redis for
several processes. Keys are built by domain services (`login:ip:1.2.3.4`)."""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> None:
        """Count `cost` (a request is 1; a GraphQL operation its computed cost) against `key`;
        raise RateLimited, with the seconds until the window resets, when the window's total
        would then exceed `limit`. A refused hit is not counted, so a costly refusal leaves
        what remains of the window to cheaper requests."""

    async def space(
        self, key: str, *, interval_seconds: float, now: float, token: str | None = None
    ) -> None:
        """Allow one action per `interval_seconds` for `key` (slowmode): raise RateLimited,
        with the seconds left, when the last allowed action was less than that before `now`
        (seconds since the epoch, from the caller's clock); otherwise record `now`. A refused
        action is not recorded. An action carrying the `token` of the one allowed last (a
        retry of it) passes without recording anything."""
