"""The SQL statements the server runs for requests, counted from the test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from sqlalchemy import event

from tests.support.server import RunningServer


@contextmanager
def counted_statements(server: RunningServer) -> Iterator[list[str]]:
    """The statements the server runs for requests while the block runs (background work runs
    outside any request's context and is not counted)."""
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "request_id" in structlog.contextvars.get_contextvars():
            seen.append(statement)

    engines = server.services.store.engines  # type: ignore[attr-defined]
    targets = {engines.read.sync_engine, engines.write.sync_engine}
    for target in targets:
        event.listen(target, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", on_execute)
