"""Redis fixed-window rate limiter, shared by every process that uses the same Redis.

One Lua script counts and starts the window atomically, so two processes can never both see
the first hit of a window and a crash can never leave a counter without an expiry.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis, RedisCluster

from gochat.errors import RateLimited, Unavailable
from gochat.redis_client import REDIS_ERRORS

# KEYS[1] counter; ARGV[1] window in ms, ARGV[2] cost, ARGV[3] limit. Returns {1 if counted
# else 0, ms until the window resets}. A refused hit is not added, and a window is started
# (with its expiry) only by a hit that is counted.
_HIT = """
local cost = tonumber(ARGV[2])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if count + cost > tonumber(ARGV[3]) then
  if ttl < 0 then
    ttl = tonumber(ARGV[1])
  end
  return {0, ttl}
end
redis.call('INCRBY', KEYS[1], cost)
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {1, ttl}
"""

# KEYS[1] holds "<when the next action is allowed, ms since the epoch> <token>"; ARGV[1] now in
# ms, ARGV[2] the interval in ms, ARGV[3] the action's token ("" for none). Returns 0 when
# allowed (recorded unless a retry of the last allowed action), else the ms left. The key
# expires with its interval, so idle keys cost nothing.
_SPACE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local value = redis.call('GET', KEYS[1]) or '0 '
local split = string.find(value, ' ', 1, true)
local allowed_at = tonumber(string.sub(value, 1, split - 1))
local last_token = string.sub(value, split + 1)
if now < allowed_at then
  if ARGV[3] ~= '' and ARGV[3] == last_token then
    return 0
  end
  return math.min(allowed_at - now, interval)
end
redis.call('SET', KEYS[1], (now + interval) .. ' ' .. ARGV[3], 'PX', interval)
return 0
"""


class RedisRateLimiter:
    def __init__(self, client: Redis | RedisCluster, *, prefix: str = "gochat:rl:") -> None:
        self._client = client
        self._prefix = prefix
        self._hit = client.register_script(_HIT)
        self._space = client.register_script(_SPACE)

    async def hit(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> None:
        try:
            result: Any = await self._hit(
                keys=[self._prefix + key], args=[window_seconds * 1000, cost, limit]
            )
        except REDIS_ERRORS as exc:
            # Fail closed: these limits guard logins and password resets.
            raise Unavailable("rate limit store unreachable") from exc
        counted, ttl_ms = int(result[0]), int(result[1])
        if not counted:
            raise RateLimited("too many requests; try again later", retry_after=ttl_ms / 1000)

    async def space(
        self, key: str, *, interval_seconds: float, now: float, token: str | None = None
    ) -> None:
        interval_ms = max(int(interval_seconds * 1000), 1)
        try:
            result: Any = await self._space(
                keys=[self._prefix + key], args=[int(now * 1000), interval_ms, token or ""]
            )
        except REDIS_ERRORS as exc:
            raise Unavailable("rate limit store unreachable") from exc
        left_ms = int(result)
        if left_ms > 0:
            raise RateLimited("slowmode: wait before sending again", retry_after=left_ms / 1000)
