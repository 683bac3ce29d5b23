"""GraphQL inputs, payloads and events of threads (the ThreadChannel type is in
`schema.channels`, with the other channel kinds)."""

from __future__ import annotations

import strawberry

from gochat.domain import events
from gochat.schema.channels import ThreadChannel
from gochat.schema.common import to_id

_AUTO_ARCHIVE = "60, 1440, 4320 or 10080 minutes without a message before it is archived"


@strawberry.input(
    description="Start a thread in a text channel (CREATE_THREADS there), on its own or from "
    "one of the channel's messages; a THREAD_CREATED notice is posted in the channel."
)
class CreateThreadInput:
    channel_id: strawberry.ID = strawberry.field(description="The parent text channel.")
    name: str = strawberry.field(description="1-100 characters.")
    from_message_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A message of the channel to start the thread from (one thread per "
        "message: CONFLICT for a second); null: a thread of its own.",
    )
    auto_archive_minutes: int | None = strawberry.field(
        default=None,
        description=f"{_AUTO_ARCHIVE}; null: the channel's defaultAutoArchiveMinutes.",
    )


@strawberry.type(description="The new thread.")
class CreateThreadPayload:
    thread: ThreadChannel = strawberry.field(description="The thread.")


@strawberry.input(
    description="Change a thread: MANAGE_THREADS, or its creator while it is not locked. "
    "Omitted fields stay."
)
class UpdateThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread.")
    name: str | None = strawberry.field(default=None, description="New name, 1-100 characters.")
    archived: bool | None = strawberry.field(
        default=None, description="Archive (true) or reopen (false) the thread."
    )
    locked: bool | None = strawberry.field(
        default=None,
        description="Lock (true): only MANAGE_THREADS may then send, reopen or change it; "
        "unlock (false).",
    )
    auto_archive_minutes: int | None = strawberry.field(
        default=None, description=f"{_AUTO_ARCHIVE}."
    )


@strawberry.type(description="The changed thread.")
class UpdateThreadPayload:
    thread: ThreadChannel = strawberry.field(description="The thread as it is now.")


@strawberry.input(description="Delete a thread and its messages (MANAGE_THREADS).")
class DeleteThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread to delete.")


@strawberry.type(description="The deleted thread.")
class DeleteThreadPayload:
    thread_id: strawberry.ID = strawberry.field(description="The thread that no longer exists.")


@strawberry.input(description="Join a thread you can see; joining twice changes nothing.")
class JoinThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread.")


@strawberry.type(description="The thread joined.")
class JoinThreadPayload:
    thread: ThreadChannel = strawberry.field(description="The thread.")


@strawberry.input(description="Leave a thread; leaving one you are not in changes nothing.")
class LeaveThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread.")


@strawberry.type(description="The thread left.")
class LeaveThreadPayload:
    thread: ThreadChannel = strawberry.field(description="The thread.")


@strawberry.type(description="A thread was started in a channel you can view.")
class ThreadCreated:
    thread: ThreadChannel = strawberry.field(description="The new thread.")


@strawberry.type(
    description="A thread in a channel you can view changed (name, archived, locked, auto-archive)."
)
class ThreadUpdated:
    thread: ThreadChannel = strawberry.field(description="The thread as it is now.")


@strawberry.type(description="A thread in a channel you can view was deleted.")
class ThreadDeleted:
    thread: ThreadChannel = strawberry.field(description="The thread as it was.")


@strawberry.type(description="Members joined or left a thread in a channel you can view.")
class ThreadMembersUpdated:
    thread: ThreadChannel = strawberry.field(description="The thread.")
    added_user_ids: list[strawberry.ID] = strawberry.field(description="Who joined.")
    removed_user_ids: list[strawberry.ID] = strawberry.field(description="Who left.")


ThreadEvent = ThreadCreated | ThreadUpdated | ThreadDeleted | ThreadMembersUpdated


def from_thread_event(event: events.Event) -> ThreadEvent | None:
    match event:
        case events.ThreadCreated(thread=t):
            return ThreadCreated(thread=ThreadChannel(record=t))
        case events.ThreadUpdated(thread=t):
            return ThreadUpdated(thread=ThreadChannel(record=t))
        case events.ThreadDeleted(thread=t):
            return ThreadDeleted(thread=ThreadChannel(record=t))
        case events.ThreadMembersUpdated(thread=t, added_user_ids=a, removed_user_ids=r):
            return ThreadMembersUpdated(
                thread=ThreadChannel(record=t),
                added_user_ids=[to_id(u) for u in a],
                removed_user_ids=[to_id(u) for u in r],
            )
    return None
