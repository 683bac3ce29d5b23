"""What a link unfurled to, per normalized URL: an embed for 6 hours, "nothing to show" (a
failure, a refusal, a page without metadata) for 30 minutes. In process when embedded; in Redis
at scale, so every embedder process shares one cache."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from pydantic import TypeAdapter

from gochat.domain.records import Embed
from gochat.redis_client import REDIS_ERRORS

log = structlog.get_logger("gochat.outbound.cache")

_EMBED: TypeAdapter[Embed | None] = TypeAdapter(Embed | None)
KEY_PREFIX = "gochat:unfurl:v1:"


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


class RedisUnfurlCache:
    def __init__(self, client: Any) -> None:
        """`client`: from gochat.redis_client (a server or a cluster)."""
        self._redis = client

    @staticmethod
    def _key(url: str) -> str:
        return KEY_PREFIX + hashlib.sha256(url.encode()).hexdigest()

    async def get(self, url: str) -> Cached | None:
        try:
            raw = await self._redis.get(self._key(url))
        except REDIS_ERRORS:
            log.warning("unfurl_cache.unavailable")
            return None
        if raw is None:
            return None
        try:
            return Cached(_EMBED.validate_json(raw))
        except ValueError:
            return None

    async def put(self, url: str, embed: Embed | None, *, ttl_seconds: float) -> None:
        try:
            await self._redis.set(
                self._key(url),
                _EMBED.dump_json(embed, exclude_none=True),
                px=max(1, int(ttl_seconds * 1000)),
            )
        except REDIS_ERRORS:
            log.warning("unfurl_cache.unavailable")
