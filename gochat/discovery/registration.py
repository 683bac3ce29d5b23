"""The SFU's side of discovery: announce itself, keep its lease alive with its current load,
and withdraw on shutdown. An SFU process builds one with the registry wiring opens for its
GOCHAT_DISCOVERY_URL (or the in-process one when embedded) and calls `refresh` every
`refresh_seconds`, or lets `run` do it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from gochat.discovery import DEFAULT_LEASE_SECONDS, SfuInstance, SfuRegistry, check_instance
from gochat.errors import Unavailable

log = structlog.get_logger("gochat.discovery")

# A withdrawal the registry does not confirm by then is left to the lease's expiry.
WITHDRAW_SECONDS = 10.0


class SfuRegistration:
    def __init__(
        self,
        registry: SfuRegistry,
        *,
        sfu_id: str,
        region: str,
        url: str,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._registry = registry
        self.instance = SfuInstance(id=sfu_id, region=region, url=url, load=0)
        check_instance(self.instance)
        self.lease_seconds = lease_seconds
        # Three refreshes per lease: one lost refresh does not make the SFU look dead.
        self.refresh_seconds = max(lease_seconds / 3, 0.1)

    async def register(self, *, load: int = 0) -> None:
        """Announce this SFU (it receives joins from now on). Raises Unavailable."""
        await self.refresh(load=load)

    async def refresh(self, *, load: int) -> None:
        """Keep the lease alive and publish the current load (members served). Raises
        Unavailable; a refresh after the lease lapsed registers again."""
        self.instance = SfuInstance(
            id=self.instance.id, region=self.instance.region, url=self.instance.url, load=load
        )
        await self._registry.announce(self.instance, ttl_seconds=self.lease_seconds)

    async def withdraw(self) -> None:
        """Stop receiving joins at once (clean shutdown)."""
        await self._registry.withdraw(self.instance.id)

    async def run(self, load: Callable[[], int]) -> None:
        """Refresh every `refresh_seconds` with `load()` until cancelled, then withdraw. A
        registry outage is logged and retried at the next tick."""
        try:
            while True:
                try:
                    await self.refresh(load=load())
                except Unavailable as exc:
                    log.warning("sfu.refresh_failed", sfu_id=self.instance.id, reason=exc.message)
                await asyncio.sleep(self.refresh_seconds)
        finally:
            # Shielded, and waited for even when the stop is repeated (stop_task cancels again
            # every few seconds): a loaded machine's withdrawal can outlast one interval, and
            # the process must not exit while its entry still takes joins.
            withdrawal = asyncio.ensure_future(self._withdraw_within(WITHDRAW_SECONDS))
            while not withdrawal.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(withdrawal)
            if withdrawal.exception() is not None:
                log.warning("sfu.withdraw_failed", sfu_id=self.instance.id)

    async def _withdraw_within(self, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            await self.withdraw()
