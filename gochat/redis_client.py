"""The Redis client that the presence and rate limit adapters share: one server, or a Redis
Cluster (GOCHAT_REDIS_CLUSTER), and the errors that mean Redis is unreachable."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.typing import EncodableT

# A cluster client raises RedisClusterException, outside RedisError, when no node answers.
REDIS_ERRORS = (RedisError, RedisClusterException)


def _recycled(exc: AttributeError) -> RedisConnectionError:
    return RedisConnectionError(f"a cluster connection was recycled during its handshake: {exc}")


class _TopologyFirst(RedisCluster):
    """A cluster client that learns the topology before any command goes out.

    redis-py (8.1) resolves a command's routing policy before it loads the cluster's topology,
    on the connections of the node given in the URL, and loading the topology recycles those
    connections. A connection recycled while another command is in its handshake fails that
    command with an AttributeError (no stream writer) before anything is sent. On a fresh
    client, here the first command loads the topology under a lock and the others wait for it,
    which avoids the race. It can still happen while the client finds its nodes again after
    an outage; then the command fails as a connection error, the way an unreachable node does,
    and the caller's fallback takes it.
    """

    _topology_lock: asyncio.Lock | None = None

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        if self._initialize:
            if self._topology_lock is None:
                self._topology_lock = asyncio.Lock()
            async with self._topology_lock:
                if self._initialize:
                    await self.initialize()
        try:
            return await super().execute_command(*args, **kwargs)
        except AttributeError as exc:
            raise _recycled(exc) from exc

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        if shard_hint:
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        # mypy takes ClusterPipeline for abstract (an attribute that its __init__ sets).
        return _RecycleSafePipeline(self, transaction)  # type: ignore[abstract]


class _RecycleSafePipeline(ClusterPipeline):
    async def execute(  # redis-py's signature
        self,
        raise_on_error: bool = True,  # noqa: FBT001, FBT002
        allow_redirections: bool = True,  # noqa: FBT001, FBT002
    ) -> list[Any]:
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except AttributeError as exc:
            raise _recycled(exc) from exc


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
