"""Redis presence: one hash per user, one field per session, shared by every API process.

A field holds `expires_ms|updated_ms|json`. Redis 7.0 cannot expire single hash fields, so each
field carries its own expiry, readers ignore expired fields, writers delete them, and the hash
itself expires with its longest-lived session. Every time comes from the Redis server clock
(TIME inside the scripts), so processes with skewed clocks agree on what has expired.

The layout also works on Redis Cluster, where a script may only touch keys of one hash slot.
A write changes a user's hash and schedules the user's next lapse in a sorted set, atomically;
one global lapse set would sit in another slot than nearly every user's hash. So the lapse set
is split into `shards` sets, a user belongs to one shard (a hash of the id), and the user's hash
and their shard's set carry the same hash tag, `{<prefix><shard>}`: every script call touches
keys of one slot. `claim_lapsed` walks the shards: it reads the due users of each (plain reads),
then claims them in one script per shard that names their hashes among its keys and re-checks
that each is still due, so a lapse is still handed out once. The cost: presence lives in
`shards` slots, hence on at most that many cluster nodes; every process must use the same prefix
and shard count. Reads pipeline one HGETALL per user and judge expiry by the TIME of the node
answering it, so on a cluster only the skew between Redis nodes' clocks shows in reads.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis, RedisCluster

from gochat.domain.records import Presence, PresenceStatus, SessionPresence
from gochat.errors import Unavailable
from gochat.ids import Snowflake
from gochat.presence import check_reportable, check_status, combine
from gochat.redis_client import REDIS_ERRORS

# Drop the expired fields of the hash at `key`; returns whether any was dropped, the first
# and the last expiry of the sessions left. The hash expires with its last session.
# How long the presence last announced for a user is remembered.
_SHOWN_TTL_SECONDS = 86_400

_PRUNE_FN = """
local function prune(key, now)
  local all = redis.call('HGETALL', key)
  local first, last, dropped = 0, 0, false
  for i = 1, #all, 2 do
    local e = tonumber(string.match(all[i + 1], '^(%d+)|'))
    if e <= now then
      redis.call('HDEL', key, all[i])
      dropped = true
    else
      if first == 0 or e < first then first = e end
      if e > last then last = e end
    end
  end
  if last > 0 then redis.call('PEXPIREAT', key, last) end
  return dropped, first
end
"""

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Shared tail of the write scripts (KEYS[1] user hash, KEYS[2] the user's lapse shard, ARGV[1]
# user id): the lapse shard scores each user by their next session expiry; a lapse already due
# (a session pruned here, or one not yet claimed) stays due until `claim_lapsed` takes it.
_RESCHEDULE = """
local dropped, first = prune(KEYS[1], now)
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if dropped then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
elseif due and tonumber(due) <= now then
  -- keep the due lapse
elseif first > 0 then
  redis.call('ZADD', KEYS[2], first, ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
"""

# ARGV: user id, session id, ttl ms, json report.
_SET = (
    _PRUNE_FN
    + _NOW
    + """
redis.call('HSET', KEYS[1], ARGV[2], string.format('%d|%d|%s', now + ARGV[3], now, ARGV[4]))
"""
    + _RESCHEDULE
    + "return 1"
)

# ARGV: user id, session id, ttl ms. Returns 1 when the session was live.
_REFRESH = (
    _PRUNE_FN
    + _NOW
    + """
local value = redis.call('HGET', KEYS[1], ARGV[2])
local found = 0
if value then
  local e, rest = string.match(value, '^(%d+)|(.*)$')
  if tonumber(e) > now then
    redis.call('HSET', KEYS[1], ARGV[2], string.format('%d|%s', now + ARGV[3], rest))
    found = 1
  end
end
"""
    + _RESCHEDULE
    + "return found"
)

# ARGV: user id, session id, json report. Returns 1 when the session was live; its expiry
# stays as it was.
_UPDATE = (
    _PRUNE_FN
    + _NOW
    + """
local value = redis.call('HGET', KEYS[1], ARGV[2])
local found = 0
if value then
  local e = string.match(value, '^(%d+)|')
  if tonumber(e) > now then
    redis.call('HSET', KEYS[1], ARGV[2], string.format('%s|%d|%s', e, now, ARGV[3]))
    found = 1
  end
end
"""
    + _RESCHEDULE
    + "return found"
)

# ARGV: user id, session id.
_REMOVE = _PRUNE_FN + _NOW + "redis.call('HDEL', KEYS[1], ARGV[2])\n" + _RESCHEDULE + "return 1"

# KEYS[1] a lapse shard, KEYS[2..] the hashes of the users in ARGV, in the same order (all of
# that shard, so one slot). Claims those still due, atomically, and schedules their next lapse;
# a user another caller claimed first is no longer due here.
_CLAIM = (
    _PRUNE_FN
    + _NOW
    + """
local claimed = {}
for i, uid in ipairs(ARGV) do
  local due = redis.call('ZSCORE', KEYS[1], uid)
  if due and tonumber(due) <= now then
    redis.call('ZREM', KEYS[1], uid)
    local _, first = prune(KEYS[i + 1], now)
    if first > 0 then redis.call('ZADD', KEYS[1], first, uid) end
    claimed[#claimed + 1] = uid
  end
end
return claimed
"""
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
    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str = "gochat:presence:",
        shards: int = 16,
    ) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the prefix must not hold braces: the keys' hash tags use them")
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self._client = client
        self._prefix = prefix
        self._shards = shards
        self._next_shard = 0  # where the next claim starts, so no shard waits behind another
        self._set = client.register_script(_SET)
        self._refresh = client.register_script(_REFRESH)
        self._update = client.register_script(_UPDATE)
        self._remove = client.register_script(_REMOVE)
        self._claim = client.register_script(_CLAIM)

    def _shard(self, user_id: int) -> int:
        # Snowflakes' low bits are mostly a zero sequence: hash them, never `id % shards`.
        return zlib.crc32(user_id.to_bytes(8, "big")) % self._shards

    def _tag(self, shard: int) -> str:
        return f"{{{self._prefix}{shard}}}"

    def _lapse_key(self, shard: int) -> str:
        return f"{self._tag(shard)}:lapse"

    def user_key(self, user_id: Snowflake) -> str:
        """The hash holding the user's sessions."""
        return f"{self._tag(self._shard(user_id))}:user:{user_id}"

    def _keys(self, user_id: Snowflake) -> list[str]:
        return [self.user_key(user_id), self._lapse_key(self._shard(user_id))]

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
            await self._set(
                keys=self._keys(user_id), args=[user_id, session_id, _ms(ttl_seconds), body]
            )
        except REDIS_ERRORS as exc:
            raise Unavailable("presence store unreachable") from exc

    async def refresh(
        self, user_id: Snowflake, session_id: Snowflake, *, ttl_seconds: float
    ) -> bool:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        try:
            found: Any = await self._refresh(
                keys=self._keys(user_id), args=[user_id, session_id, _ms(ttl_seconds)]
            )
        except REDIS_ERRORS as exc:
            raise Unavailable("presence store unreachable") from exc
        return bool(found)

    async def update(
        self,
        user_id: Snowflake,
        session_id: Snowflake,
        *,
        status: PresenceStatus,
        custom_status: str | None,
    ) -> bool:
        check_status(status)
        body = json.dumps({"status": status.value, "custom_status": custom_status})
        try:
            found: Any = await self._update(
                keys=self._keys(user_id), args=[user_id, session_id, body]
            )
        except REDIS_ERRORS as exc:
            raise Unavailable("presence store unreachable") from exc
        return bool(found)

    async def remove(self, user_id: Snowflake, session_id: Snowflake) -> None:
        try:
            await self._remove(keys=self._keys(user_id), args=[user_id, session_id])
        except REDIS_ERRORS as exc:
            raise Unavailable("presence store unreachable") from exc

    async def _read(self, user_ids: Sequence[Snowflake]) -> list[list[SessionPresence]]:
        client = self._client
        try:
            if isinstance(client, RedisCluster):
                # A cluster pipeline refuses keyless commands: the clock is one more call.
                seconds, micros = await client.time()
                async with client.pipeline(transaction=False) as cluster_pipe:
                    for user_id in user_ids:
                        cluster_pipe.hgetall(self.user_key(user_id))
                    replies: list[Any] = [(seconds, micros), *await cluster_pipe.execute()]
            else:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.time()
                    for user_id in user_ids:
                        pipe.hgetall(self.user_key(user_id))
                    replies = await pipe.execute()
        except REDIS_ERRORS as exc:
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

    def shown_key(self, user_id: Snowflake) -> str:
        """The presence last announced for the user (one key: any slot will do)."""
        return f"{self._prefix}shown:{user_id}"

    async def swap_shown(self, presence: Presence) -> bool:
        body = json.dumps([presence.status.value, presence.custom_status])
        try:
            # SET ... GET swaps atomically: of two processes announcing the same change,
            # only the first sees a different value.
            before = await self._client.set(
                self.shown_key(presence.user_id), body, ex=_SHOWN_TTL_SECONDS, get=True
            )
        except REDIS_ERRORS as exc:
            raise Unavailable("presence store unreachable") from exc
        return before is None or (before.decode() if isinstance(before, bytes) else before) != body

    async def claim_lapsed(self, *, limit: int = 100) -> list[Snowflake]:
        start, self._next_shard = self._next_shard, (self._next_shard + 1) % self._shards
        order = [(start + i) % self._shards for i in range(self._shards)]
        claimed: list[Snowflake] = []
        try:
            seconds, micros = await self._client.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            # Candidates only: the claim script decides by its own node's clock.
            async with self._client.pipeline(transaction=False) as pipe:
                for shard in order:
                    pipe.zrangebyscore(self._lapse_key(shard), "-inf", now_ms, start=0, num=limit)
                candidates: list[Any] = await pipe.execute()
            for shard, due in zip(order, candidates, strict=True):
                user_ids = [Snowflake(int(u)) for u in due[: limit - len(claimed)]]
                if not user_ids:
                    continue
                keys = [self._lapse_key(shard), *(self.user_key(u) for u in user_ids)]
                won: Any = await self._claim(keys=keys, args=user_ids)
                claimed.extend(Snowflake(int(u)) for u in won)
                if len(claimed) >= limit:
                    break
        except REDIS_ERRORS as exc:
            raise Unavailable("presence store unreachable") from exc
        return claimed

    async def close(self) -> None:
        """The client belongs to wiring, which closes it."""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
