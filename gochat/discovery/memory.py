"""The in-process SFU registry: the embedded SFU and the API share it inside one process."""

from __future__ import annotations

import time

from gochat.discovery import SfuInstance, check_instance


class MemorySfuRegistry:
    def __init__(self) -> None:
        self._instances: dict[str, tuple[SfuInstance, float]] = {}

    async def announce(self, instance: SfuInstance, *, ttl_seconds: int) -> None:
        check_instance(instance)
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._instances[instance.id] = (instance, time.monotonic() + ttl_seconds)

    async def withdraw(self, sfu_id: str) -> None:
        self._instances.pop(sfu_id, None)

    async def live(self, region: str | None = None) -> list[SfuInstance]:
        now = time.monotonic()
        for sfu_id, (_, expires) in list(self._instances.items()):
            if expires <= now:
                del self._instances[sfu_id]
        return sorted(
            (i for i, _ in self._instances.values() if region is None or i.region == region),
            key=lambda i: i.id,
        )

    async def close(self) -> None:
        self._instances.clear()
