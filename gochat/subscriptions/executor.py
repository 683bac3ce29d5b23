"""The executor of a live subscription: one per operation, copied for each delivered event."""

from __future__ import annotations

from typing import Any

from graphql.execution import Executor


class EventExecutor(Executor[Any]):
    """graphql-core (3.3.2, pinned) copies the operation's executor for each event, and the
    copy shares the operation's memo of collected subfields. That memo is keyed by the
    identity of field lists which each execution builds anew, and holds them alive: on a
    long-lived subscription it grew by a few entries with every event (about 260 bytes per
    delivered event) until the socket closed. Each event's copy gets its own memo, which
    still serves lists of objects within the event and is dropped with it."""

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor
