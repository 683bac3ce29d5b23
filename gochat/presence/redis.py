"""Redis presence: one hash per user, one field per session, shared by every API process.

A field holds `expires_ms|updated_ms|json`. Redis 7.0 cannot expire single hash fields, so each
field carries its own expiry, readers ignore expired fields, writers delete them, and the hash
itself expires with its longest-lived session. Every time comes from the Redis server clock
(TIME inside the scripts), so processes with skewed clocks agree on what has expired.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gochat.domain.records import Presence, PresenceStatus, SessionPresence
from gochat.errors import Unavailable
from gochat.ids import Snowflake
from gochat.presence import check_reportable, combine

# Shared tail of the write scripts: drop expired fields, expire the hash with the last session.
_PRUNE = """
local all = redis.call('HGETALL', KEYS[1])
local last = 0
for i = 1, #all, 2 do
  local e = tonumber(string.match(all[i + 1], '^(%d+)|'))
  if e <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif e > last then
    last = e
  end
end
if last > 0 then redis.call('PEXPIREAT', KEYS[1], last) end
"""

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] user hash; ARGV: session id, ttl ms, json report.
_SET = (
    _NOW
    + """
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|%d|%s', now + ARGV[2], now, ARGV[3]))
"""
    + _PRUNE
    + "return 1"
)

# KEYS[1] user hash; ARGV: session id, ttl ms. Returns 1 when the session was live.
_REFRESH = (
    _NOW
    + """
local value = redis.call('HGET', KEYS[1], ARGV[1])
local found = 0
if value then
  local e, rest = string.match(value, '^(%d+)|(.*)$')
  if tonumber(e) > now then
    redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|%s', now + ARGV[2], rest))
    found = 1
  end
end
"""
    + _PRUNE
    + "return found"
)


def _parse(user_id: Snowflake, fields: dict[bytes, bytes], now_ms: int) -> list[SessionPresence]:
    sessions = []
    for session_id, value in fields.items():
        expires, updated, body = value.decode().split("|", 2)
        if int(expires) <= now_ms:
            continue
        report = json.loads(body)
        sessions.append(
            SessionPresence(
                user_id=user_id,
                session_id=Snowflake(int(session_id)),
                status=PresenceStatus(report["status"]),
                custom_status=report["custom_status"],
                updated_at=datetime.fromtimestamp(int(updated) / 1000, UTC),
            )
        )
    return sorted(sessions, key=lambda s: s.session_id)


class RedisPresenceStore:
    def __init__(self, client: Redis, *, prefix: str = "gochat:presence:") -> None:
        self._client = client
        self._prefix = prefix
        self._set = client.register_script(_SET)
        self._refresh = client.register_script(_REFRESH)

    def _key(self, user_id: Snowflake) -> str:
        return f"{self._prefix}{user_id}"

    async def set(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
        ttl_seconds: float,
    ) -> None:
        check_reportable(status, ttl_seconds)
        body = json.dumps({"status": status.value, "custom_status": custom_status})
        try:
            await self._set(keys=[self._key(user_id)], args=[session_id, _ms(ttl_seconds), body])
        except RedisError as exc:
            raise Unavailable("presence store unreachable") from exc

    async def refresh(
        self, user_id: Snowflake, session_id: Snowflake, *, ttl_seconds: float
    ) -> bool:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        try:
            found: Any = await self._refresh(
                keys=[self._key(user_id)], args=[session_id, _ms(ttl_seconds)]
            )
        except RedisError as exc:
            raise Unavailable("presence store unreachable") from exc
        return bool(found)

    async def remove(self, user_id: Snowflake, session_id: Snowflake) -> None:
        try:
            await self._client.hdel(self._key(user_id), str(session_id))
        except RedisError as exc:
            raise Unavailable("presence store unreachable") from exc

    async def _read(self, user_ids: Sequence[Snowflake]) -> list[list[SessionPresence]]:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.time()
                for user_id in user_ids:
                    pipe.hgetall(self._key(user_id))
                replies: list[Any] = await pipe.execute()
        except RedisError as exc:
            raise Unavailable("presence store unreachable") from exc
        seconds, micros = replies[0]
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        return [
            _parse(user_id, fields, now_ms)
            for user_id, fields in zip(user_ids, replies[1:], strict=True)
        ]

    async def get_many(self, user_ids: Sequence[Snowflake]) -> dict[Snowflake, Presence]:
        if not user_ids:
            return {}
        sessions = await self._read(user_ids)
        return {
            user_id: combine(user_id, live)
            for user_id, live in zip(user_ids, sessions, strict=True)
        }

    async def list_sessions(self, user_id: Snowflake) -> list[SessionPresence]:
        return (await self._read([user_id]))[0]

    async def close(self) -> None:
        """The client belongs to wiring, which closes it."""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
