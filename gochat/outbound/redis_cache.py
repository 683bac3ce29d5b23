"""The unfurl cache in Redis, shared by every embedder process (`gochat.outbound.cache` says
what is cached and for how long)."""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from pydantic import TypeAdapter

from gochat.domain.records import Embed
from gochat.outbound.cache import Cached
from gochat.redis_client import REDIS_ERRORS

log = structlog.get_logger("gochat.outbound.cache")

_EMBED: TypeAdapter[Embed | None] = TypeAdapter(Embed | None)
KEY_PREFIX = "gochat:unfurl:v1:"


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
