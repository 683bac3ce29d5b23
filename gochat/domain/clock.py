"""The time that time-based rules go by (slowmode, thread auto-archive, nonce windows): one
clock per process, shared by its services, so a test moves time for all of them at once
instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move this process's time forward (tests; the wall clock is untouched)."""
        self._offset += delta
