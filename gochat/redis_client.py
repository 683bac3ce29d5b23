"""The Redis client that the presence and rate limit adapters share: one server, or a Redis
Cluster (GOCHAT_REDIS_CLUSTER), and the errors that mean Redis is unreachable."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError
from redis.typing import EncodableT

# A cluster client raises RedisClusterException, outside RedisError, when no node answers.
REDIS_ERRORS = (RedisError, RedisClusterException)


class _TopologyFirst(RedisCluster):
    """A cluster client that learns the topology before any command goes out.

    redis-py (8.1) resolves a command's routing policy before it loads the cluster's topology,
    on the connections of the node given in the URL. Loading the topology then recycles those
    connections, so on a fresh client (or one that lost every node) concurrent first commands
    fail in the middle of a connection handshake with an AttributeError about the stream
    writer. Here the first command waits for the topology under a lock and the others wait
    for it.
    """

    _topology_lock: asyncio.Lock | None = None

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        if self._initialize:
            if self._topology_lock is None:
                self._topology_lock = asyncio.Lock()
            async with self._topology_lock:
                if self._initialize:
                    await self.initialize()
        return await super().execute_command(*args, **kwargs)


def redis_client(
    url: str, *, cluster: bool = False, timeout_seconds: float | None = None
) -> Redis | RedisCluster:
    """A client for `url`; with `cluster`, `url` names one node of a Redis Cluster and the
    client finds the others. `timeout_seconds` bounds connecting and every reply."""
    timeouts: dict[str, Any] = (
        {}
        if timeout_seconds is None
        else {"socket_timeout": timeout_seconds, "socket_connect_timeout": timeout_seconds}
    )
    if cluster:
        return _TopologyFirst.from_url(url, **timeouts)
    return Redis.from_url(url, **timeouts)
