"""Redis voice states, shared by every API process.

A hash maps each user to their state's JSON (ids as strings: Lua numbers are doubles) with its
expiry `exp` in milliseconds of the Redis server clock; a set per guild indexes its users and a
sorted set orders the users by expiry for `claim_expired`. Every change is one script, so it is
atomic and each transition reaches one caller. All keys share one hash tag, hence one slot on a
Redis Cluster: voice states are few (members in voice right now) and small.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis, RedisCluster

from gochat.domain.records import VoiceState
from gochat.errors import Unavailable
from gochat.ids import Snowflake
from gochat.redis_client import REDIS_ERRORS
from gochat.voicestates import ChannelFull, check_changes

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: states, expiry, guild set. ARGV: user, json, ttl ms, guild set prefix, guild id,
# channel id, channel limit (0: none). Returns {1, replaced or false}, or {0} when full.
_PUT = (
    _NOW
    + """
local limit = tonumber(ARGV[7])
if limit > 0 then
  local others = 0
  for _, user in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if user ~= ARGV[1] then
      local v = redis.call('HGET', KEYS[1], user)
      if v then
        local o = cjson.decode(v)
        if o.exp > now and o.channel_id == ARGV[6] then others = others + 1 end
      end
    end
  end
  if others >= limit then return {0} end
end
local old = redis.call('HGET', KEYS[1], ARGV[1])
local before = false
if old then
  local o = cjson.decode(old)
  if o.exp > now then before = old end
  if o.guild_id ~= ARGV[5] then redis.call('SREM', ARGV[4] .. o.guild_id, ARGV[1]) end
end
local s = cjson.decode(ARGV[2])
s.exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(s))
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], s.exp, ARGV[1])
return {1, before}
"""
)

# KEYS: states. ARGV: users.
_GET = (
    _NOW
    + """
local out = {}
for i = 1, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and cjson.decode(v).exp > now then table.insert(out, v) end
end
return out
"""
)

# KEYS: states, expiry. ARGV: user, session, json of changes, ttl ms (0: keep the expiry).
_UPDATE = (
    _NOW
    + """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
local o = cjson.decode(old)
if o.exp <= now or o.session_id ~= ARGV[2] then return false end
for k, v in pairs(cjson.decode(ARGV[3])) do o[k] = v end
if tonumber(ARGV[4]) > 0 then
  o.exp = now + tonumber(ARGV[4])
  redis.call('ZADD', KEYS[2], o.exp, ARGV[1])
end
local new = cjson.encode(o)
redis.call('HSET', KEYS[1], ARGV[1], new)
return {old, new}
"""
)

# KEYS: states, expiry. ARGV: user, session ('' for any), guild set prefix.
_REMOVE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
local o = cjson.decode(old)
if ARGV[2] ~= '' and o.session_id ~= ARGV[2] then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', ARGV[3] .. o.guild_id, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return old
"""

# KEYS: states, expiry. ARGV: limit, guild set prefix.
_CLAIM = (
    _NOW
    + """
local out = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[1])) do
  local v = redis.call('HGET', KEYS[1], user)
  if not v then
    redis.call('ZREM', KEYS[2], user)
  else
    local o = cjson.decode(v)
    if o.exp <= now then
      redis.call('HDEL', KEYS[1], user)
      redis.call('SREM', ARGV[2] .. o.guild_id, user)
      redis.call('ZREM', KEYS[2], user)
      table.insert(out, v)
    else
      redis.call('ZADD', KEYS[2], o.exp, user)
    end
  end
end
return out
"""
)


def _dump(state: VoiceState) -> str:
    return json.dumps(
        {
            "user_id": str(state.user_id),
            "guild_id": str(state.guild_id),
            "channel_id": str(state.channel_id),
            "session_id": str(state.session_id),
            "sfu_id": state.sfu_id,
            "region": state.region,
            "self_mute": state.self_mute,
            "self_deaf": state.self_deaf,
            "server_mute": state.server_mute,
            "server_deaf": state.server_deaf,
            "video": state.video,
            "speaking": state.speaking,
            "connected": state.connected,
        }
    )


def _load(raw: bytes | str) -> VoiceState:
    body: dict[str, Any] = json.loads(raw)
    return VoiceState(
        user_id=Snowflake(int(body["user_id"])),
        guild_id=Snowflake(int(body["guild_id"])),
        channel_id=Snowflake(int(body["channel_id"])),
        session_id=Snowflake(int(body["session_id"])),
        sfu_id=str(body["sfu_id"]),
        region=str(body["region"]),
        self_mute=bool(body["self_mute"]),
        self_deaf=bool(body["self_deaf"]),
        server_mute=bool(body["server_mute"]),
        server_deaf=bool(body["server_deaf"]),
        video=bool(body["video"]),
        speaking=bool(body["speaking"]),
        connected=bool(body["connected"]),
    )


class RedisVoiceStateStore:
    def __init__(self, client: Redis | RedisCluster, *, prefix: str = "gochat:voice:") -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the prefix must not hold braces: the keys' hash tag uses them")
        tag = "{" + prefix + "}"
        self._client = client
        self._states = f"{tag}states"
        self._expiry = f"{tag}expiry"
        self._guild_prefix = f"{tag}guild:"
        self._put = client.register_script(_PUT)
        self._get = client.register_script(_GET)
        self._update = client.register_script(_UPDATE)
        self._remove = client.register_script(_REMOVE)
        self._claim = client.register_script(_CLAIM)

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            raise Unavailable("voice states (Redis) unreachable") from exc

    async def put(
        self, state: VoiceState, *, ttl_seconds: float, channel_limit: int = 0
    ) -> VoiceState | None:
        guild_set = f"{self._guild_prefix}{state.guild_id}"
        placed = await self._run(
            self._put,
            [self._states, self._expiry, guild_set],
            [
                str(state.user_id),
                _dump(state),
                max(1, round(ttl_seconds * 1000)),
                self._guild_prefix,
                str(state.guild_id),
                str(state.channel_id),
                channel_limit,
            ],
        )
        if int(placed[0]) == 0:
            raise ChannelFull
        before = placed[1] if len(placed) > 1 else None
        return _load(before) if before else None

    async def get(self, user_id: Snowflake) -> VoiceState | None:
        found = await self._run(self._get, [self._states], [str(user_id)])
        return _load(found[0]) if found else None

    async def list_guild(self, guild_id: Snowflake) -> list[VoiceState]:
        try:
            members = await self._client.smembers(f"{self._guild_prefix}{guild_id}")
        except REDIS_ERRORS as exc:
            raise Unavailable("voice states (Redis) unreachable") from exc
        if not members:
            return []
        users = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        found = await self._run(self._get, [self._states], users)
        states = [_load(raw) for raw in found]
        return sorted((s for s in states if s.guild_id == guild_id), key=lambda s: s.user_id)

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        changes: Mapping[str, bool],
        *,
        ttl_seconds: float | None = None,
    ) -> tuple[VoiceState, VoiceState] | None:
        check_changes(changes)
        ttl_ms = 0 if ttl_seconds is None else max(1, round(ttl_seconds * 1000))
        result = await self._run(
            self._update,
            [self._states, self._expiry],
            [str(user_id), str(session_id), json.dumps(dict(changes)), ttl_ms],
        )
        if not result:
            return None
        return _load(result[0]), _load(result[1])

    async def remove(
        self, user_id: Snowflake, *, session_id: Snowflake | None = None
    ) -> VoiceState | None:
        old = await self._run(
            self._remove,
            [self._states, self._expiry],
            [str(user_id), "" if session_id is None else str(session_id), self._guild_prefix],
        )
        return _load(old) if old else None

    async def claim_expired(self, *, limit: int = 100) -> list[VoiceState]:
        found = await self._run(
            self._claim, [self._states, self._expiry], [limit, self._guild_prefix]
        )
        return [_load(raw) for raw in found]

    async def close(self) -> None:
        """The client belongs to the caller (it is shared with presence)."""
