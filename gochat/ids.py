"""64-bit snowflake IDs: time-ordered, unique per worker id, safe as GraphQL `ID` strings.

Layout (most significant first): 41 bits of milliseconds since GOCHAT_EPOCH_MS, 10 bits of
worker id, 12 bits of sequence. Sorting by id sorts by creation time, which message history and
cursors rely on.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import NewType

Snowflake = NewType("Snowflake", int)

GOCHAT_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER_ID = (1 << WORKER_BITS) - 1
_MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
_TIME_SHIFT = WORKER_BITS + SEQUENCE_BITS


class SnowflakeGenerator:
    """Thread-safe generator; a clock that steps back waits instead of reusing ids."""

    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER_ID:
            raise ValueError(f"worker id must be within 0..{MAX_WORKER_ID}")
        self._worker_id = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> Snowflake:
        with self._lock:
            now = _now_ms()
            now = max(now, self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _MAX_SEQUENCE
                if self._sequence == 0:
                    while now <= self._last_ms:
                        now = _now_ms()
            else:
                self._sequence = 0
            self._last_ms = now
            return Snowflake(
                ((now - GOCHAT_EPOCH_MS) << _TIME_SHIFT)
                | (self._worker_id << SEQUENCE_BITS)
                | self._sequence
            )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def created_at_ms(snowflake: int) -> int:
    """The creation time encoded in a snowflake, in Unix milliseconds (no datetime made)."""
    return (snowflake >> _TIME_SHIFT) + GOCHAT_EPOCH_MS


def created_at(snowflake: int) -> datetime:
    """The creation time encoded in a snowflake."""
    ms = (snowflake >> _TIME_SHIFT) + GOCHAT_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def lowest_id_at(when: datetime) -> Snowflake:
    """The smallest snowflake made at `when` (0 before the epoch): ids at or after it are
    at least this."""
    ms = int(when.timestamp() * 1000) - GOCHAT_EPOCH_MS
    return Snowflake(max(ms, 0) << _TIME_SHIFT)


def parse_id(raw: str | int) -> Snowflake | None:
    """A snowflake from client input, or None when it is not a positive 63-bit integer."""
    if isinstance(raw, int):
        value = raw
    else:
        text = raw.strip()
        if not text.isdigit() or len(text) > 19:
            return None
        value = int(text)
    if value <= 0 or value >= 1 << 63:
        return None
    return Snowflake(value)
