"""The SFU discovery port: which voice servers are alive, where, and how busy.

Each SFU announces `{id, region, url, load}` under a lease it refreshes (every few seconds,
15 s by default); an SFU that stops refreshing (crashed, cut off) drops out when its lease
lapses, so the API never sends a join to it again and its rooms go elsewhere on rejoin.
Adapters: in-process (`discovery.memory`, the embedded default, where the SFU runs inside
`gochat serve`) and etcd (`discovery.etcd`, leases on an etcd v3 cluster). The registration
side an SFU process drives is `discovery.registration.SfuRegistration`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_LEASE_SECONDS = 15


@dataclass(frozen=True, slots=True)
class SfuInstance:
    """One live SFU: `url` is where clients open its signaling WebSocket; `load` is how many
    members it currently serves (lower is better)."""

    id: str
    region: str
    url: str
    load: int = 0


class SfuRegistry(Protocol):
    async def announce(self, instance: SfuInstance, *, ttl_seconds: int) -> None:
        """Record `instance` (a new one, or a new load for a known id) as alive for
        `ttl_seconds` from now; announcing again before then keeps it alive. An instance that
        lapsed is recorded afresh. Raises Unavailable when the registry cannot be reached."""

    async def withdraw(self, sfu_id: str) -> None:
        """Forget the instance at once (clean shutdown). Unknown ids are a no-op."""

    async def live(self, region: str | None = None) -> list[SfuInstance]:
        """The instances alive now, in `region` (every region when None), by id. Raises
        Unavailable when the registry cannot be reached."""

    async def close(self) -> None: ...


def least_loaded(
    instances: Sequence[SfuInstance], *, avoid: frozenset[str] = frozenset()
) -> SfuInstance | None:
    """The instance to send a new member to: the least loaded, ties broken by id so every
    API process picks alike; instances in `avoid` only when nothing else is left."""
    preferred = [i for i in instances if i.id not in avoid] or list(instances)
    if not preferred:
        return None
    return min(preferred, key=lambda i: (i.load, i.id))


def check_instance(instance: SfuInstance) -> None:
    """Ids and regions become key segments: no '/' and not empty."""
    for value in (instance.id, instance.region):
        if not value or "/" in value:
            raise ValueError("an SFU id and region are non-empty and contain no '/'")
    if not instance.url:
        raise ValueError("an SFU needs a url")
