"""Query cost limits: what one GraphQL operation may cost, and what one caller may spend.

The GraphQL layer computes an operation's cost from its document (roughly the objects it
would load, lists multiplied through nesting) before running it; the rules here decide
whether it runs. An operation over the per-operation budget never runs, however rarely it
is sent. Below it, each caller (a signed-in user, or an address when signed out) spends cost
points from a budget per window, shared by every process through the rate limiter: the
operations that would overdraw it are refused with the seconds until the window resets,
without spending anything. Every operation spends at least one point.
"""

from __future__ import annotations

from gochat.errors import QueryCostRateLimited, QueryTooComplex, RateLimited
from gochat.ids import Snowflake
from gochat.ratelimit import RateLimiter


class QueryCostService:
    def __init__(self, limits: RateLimiter, *, max_cost: int, rate: tuple[int, int]) -> None:
        self._limits = limits
        self.max_cost = max_cost
        self._rate = rate

    def check(self, cost: int) -> None:
        """Raise QueryTooComplex when one operation costs more than the budget."""
        if cost > self.max_cost:
            raise QueryTooComplex(
                f"query cost {cost} is over the limit of {self.max_cost}: ask for smaller "
                "pages (first/last), fewer nested lists or fewer aliases",
                cost=cost,
                max_cost=self.max_cost,
            )

    def too_large(self) -> QueryTooComplex:
        """The refusal for a document too large to finish computing its cost."""
        return QueryTooComplex(
            f"query cost is over the limit of {self.max_cost}: the operation expands to too "
            "many fields",
            cost=None,
            max_cost=self.max_cost,
        )

    async def admit(self, cost: int, *, user_id: Snowflake | None, ip: str) -> None:
        """Check the budget, then spend `cost` from the caller's window (a user's, or the
        address's when signed out); raise QueryCostRateLimited when it is spent."""
        self.check(cost)
        limit, window = self._rate
        key = f"cost:user:{user_id}" if user_id is not None else f"cost:ip:{ip}"
        try:
            await self._limits.hit(key, limit=limit, window_seconds=window, cost=max(cost, 1))
        except RateLimited as exc:
            raise QueryCostRateLimited(
                f"query cost budget spent ({limit} per {window} s); this operation costs "
                f"{cost}: try again later",
                retry_after=exc.retry_after,
                cost=cost,
            ) from exc
