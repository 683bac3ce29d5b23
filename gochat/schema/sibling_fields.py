"""Sibling fields run to their end, even when one of them fails.

graphql-core 3.3 cancels the pending siblings of a field that raised (its `gather_with_cancel`).
A cancelled resolver may be inside a database call: an aiosqlite connection is then dropped
unclosed (a leaked connection and its thread), a PostgreSQL connection goes back to the pool
mid-statement, and resolvers that never started are discarded with "never awaited" warnings.
Waiting for the siblings instead costs, on an error path only, the time of the slowest sibling,
and every resolver keeps its cleanup. The first failure (in field order) is then raised as
before, so results and errors are the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from graphql.execution import executor


async def gather_settled(*awaitables: Awaitable[Any]) -> list[Any]:
    outcomes = await asyncio.gather(*awaitables, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def install() -> None:
    """Make graphql-core's executor wait for every sibling (the executor looks the helper up
    in its module at each use)."""
    executor.gather_with_cancel = gather_settled  # type: ignore[attr-defined]
