"""One way to change a thread's row (name, archive, lock, auto-archive) with its ThreadUpdated
event and audit entry, shared by the thread service, message sends (which unarchive) and the
auto-archive sweeper."""

from __future__ import annotations

from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import ThreadUpdated
from gochat.domain.records import Channel
from gochat.ids import Snowflake
from gochat.storage import AuditOf


async def update_thread(
    kit: ChangeKit,
    thread: Channel,
    values: dict[str, object],
    *,
    actor_id: Snowflake | None,
) -> Channel:
    """`actor_id` None: a change the system made (auto-archive), not audited."""
    if not values:
        return thread
    pending = Pending()
    audit: AuditOf[Channel] = (
        (lambda _: [])
        if actor_id is None
        else kit.audit(
            guild_id=thread.guild_id,
            actor_id=actor_id,
            action="THREAD_UPDATE",
            target_type="channel",
            target_id=thread.id,
            changes={k: [getattr(thread, k), v] for k, v in values.items()},
        )
    )
    stored = dict(values)
    if values.get("archived") is False:
        # Reopening restarts the auto-archive delay, and makes a sweep that read the thread
        # before it leave the thread open.
        stored["last_activity_at"] = kit.now()
    updated = await kit.store.update_channel(
        thread.guild_id,
        thread.id,
        stored,
        replace_overwrites=None,
        events=kit.guild_events(
            pending, thread.guild_id, lambda c, eid: ThreadUpdated(event_id=eid, thread=c)
        ),
        audit=audit,
    )
    await kit.publish(pending)
    return updated
