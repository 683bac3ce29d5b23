"""SFU discovery on etcd v3 through aetcd (asyncio, gRPC).

`etcd://[user:password@]host:port[?prefix=/gochat/sfu]`. Each instance is one key,
`{prefix}/{region}/{id}`, holding its JSON and attached to a lease of `ttl_seconds`: the
announcing process grants the lease once and keeps it alive on every later announce (a lease
that already lapsed is granted anew), so a dead SFU's key vanishes with its lease and nobody
has to clean up after it. aetcd rather than python-etcd3: etcd3 0.12 cannot even be imported
next to the protobuf release the other dependencies need, and its client is thread-based.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, unquote, urlsplit

import aetcd
import aetcd.exceptions

from gochat.discovery import SfuInstance, check_instance
from gochat.errors import Unavailable

DEFAULT_PREFIX = "/gochat/sfu"
_TIMEOUT_SECONDS = 3


class EtcdSfuRegistry:
    def __init__(self, client: aetcd.Client, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._leases: dict[str, tuple[int, str]] = {}  # sfu id -> (lease id, key)
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str) -> EtcdSfuRegistry:
        parts = urlsplit(url)
        if parts.scheme != "etcd" or not parts.hostname:
            raise ValueError("expected etcd://[user:password@]host:port[?prefix=/gochat/sfu]")
        prefix = parse_qs(parts.query).get("prefix", [DEFAULT_PREFIX])[0]
        if not prefix.startswith("/"):
            raise ValueError("the etcd prefix starts with '/'")
        client = aetcd.Client(
            host=parts.hostname,
            port=parts.port or 2379,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=_TIMEOUT_SECONDS,
        )
        return cls(client, prefix=prefix)

    def _key(self, instance: SfuInstance) -> str:
        return f"{self._prefix}/{instance.region}/{instance.id}"

    async def announce(self, instance: SfuInstance, *, ttl_seconds: int) -> None:
        check_instance(instance)
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        key = self._key(instance)
        value = json.dumps(
            {
                "id": instance.id,
                "region": instance.region,
                "url": instance.url,
                "load": instance.load,
            }
        ).encode()
        async with self._lock:
            try:
                held = self._leases.get(instance.id)
                lease_id: int | None = None
                if held is not None:
                    reply = await self._client.refresh_lease(held[0])
                    if reply is not None and reply.TTL > 0:
                        lease_id = held[0]
                    if held[1] != key:  # moved to another region: drop the old key
                        await self._client.delete(held[1].encode())
                if lease_id is None:
                    lease = await self._client.lease(ttl_seconds)
                    lease_id = int(lease.id)
                await self._client.put(key.encode(), value, lease=lease_id)
                self._leases[instance.id] = (lease_id, key)
            except (aetcd.exceptions.ClientError, OSError) as exc:
                raise Unavailable("SFU registry (etcd) unreachable") from exc

    async def withdraw(self, sfu_id: str) -> None:
        async with self._lock:
            held = self._leases.pop(sfu_id, None)
            try:
                if held is not None:
                    await self._client.revoke_lease(held[0])
                for instance, key in await self._scan(None):
                    if instance.id == sfu_id:
                        await self._client.delete(key.encode())
            except (aetcd.exceptions.ClientError, OSError) as exc:
                raise Unavailable("SFU registry (etcd) unreachable") from exc

    async def live(self, region: str | None = None) -> list[SfuInstance]:
        try:
            found = await self._scan(region)
        except (aetcd.exceptions.ClientError, OSError) as exc:
            raise Unavailable("SFU registry (etcd) unreachable") from exc
        return sorted((i for i, _ in found), key=lambda i: i.id)

    async def _scan(self, region: str | None) -> list[tuple[SfuInstance, str]]:
        prefix = f"{self._prefix}/{region}/" if region is not None else f"{self._prefix}/"
        found: list[tuple[SfuInstance, str]] = []
        for kv in await self._client.get_prefix(prefix.encode()):
            try:
                body = json.loads(kv.value)
                instance = SfuInstance(
                    id=str(body["id"]),
                    region=str(body["region"]),
                    url=str(body["url"]),
                    load=int(body.get("load", 0)),
                )
            except (ValueError, KeyError, TypeError):
                continue  # not ours: somebody else's key under the prefix
            found.append((instance, kv.key.decode()))
        return found

    async def close(self) -> None:
        await self._client.close()
