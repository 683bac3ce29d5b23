"""What a link unfurled to, per normalized URL: an embed for 6 hours, "nothing to show" (a
failure, a refusal, a page without metadata) for 30 minutes. In process when embedded; in Redis
at scale (`gochat.outbound.redis_cache`), so every embedder process shares one cache."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from gochat.domain.records import Embed


@dataclass(frozen=True, slots=True)
class Cached:
    embed: Embed | None
    """None: the link was tried and gives nothing to show."""


class UnfurlCache(Protocol):
    async def get(self, url: str) -> Cached | None:
        """The cached outcome for a normalized URL; None when not cached (or the cache is
        unreachable: a miss costs a fetch, never an error)."""
        ...

    async def put(self, url: str, embed: Embed | None, *, ttl_seconds: float) -> None: ...


class MemoryUnfurlCache:
    """Bounded (least recently used out first)."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, Embed | None]] = OrderedDict()
        self._max = max_entries

    async def get(self, url: str) -> Cached | None:
        found = self._entries.get(url)
        if found is None:
            return None
        expires, embed = found
        if expires <= time.monotonic():
            del self._entries[url]
            return None
        self._entries.move_to_end(url)
        return Cached(embed)

    async def put(self, url: str, embed: Embed | None, *, ttl_seconds: float) -> None:
        self._entries[url] = (time.monotonic() + ttl_seconds, embed)
        self._entries.move_to_end(url)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
