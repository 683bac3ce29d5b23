"""Threads: channels of type THREAD under a text channel, optionally started from one of its
messages.

A thread takes its parent's permissions, the parent's overwrites included: whoever can see the
parent sees its threads, and their events. Starting one takes CREATE_THREADS in the parent;
sending in one takes SEND_MESSAGES_IN_THREADS (see `channel_access`). A thread started from a
message links both ways (`origin_message_id`, and the message's thread) and opens with a
THREAD_STARTER message naming it; every new thread posts a THREAD_CREATED notice in the parent.

Archiving, locking, renaming and the auto-archive delay are for MANAGE_THREADS or the thread's
creator; once locked, only MANAGE_THREADS changes the thread, and only MANAGE_THREADS sends in
it. A send by a member who may send reopens an archived thread. A thread with no message for its
auto-archive delay is archived by the sweeper (`archive_inactive`); its delay runs from the
last message, send or reopening, and the sweeper's write is conditional on the activity it
read, so a thread that came back to life meanwhile stays open. Deleting a thread takes
MANAGE_THREADS. Joining and leaving are each member's own choice; membership lists who follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gochat import ids
from gochat.bus import subjects
from gochat.domain import validation
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.channels import NAME_MAX, auto_archive_minutes
from gochat.domain.events import (
    ThreadCreated,
    ThreadDeleted,
    ThreadMembersUpdated,
    ThreadUpdated,
)
from gochat.domain.guild_access import GuildView
from gochat.domain.messages import MessageService
from gochat.domain.permissions import Permission
from gochat.domain.records import Channel, ChannelType, Message, MessageType, ThreadMember, Viewer
from gochat.domain.thread_state import update_thread
from gochat.errors import BadUserInput, Conflict, Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import MessageStore, OpenThread

SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class IdlePage:
    idle: list[OpenThread]
    last_id: Snowflake | None  # the batch's last thread; None: no thread left to look at


@dataclass(frozen=True, slots=True)
class ThreadPage:
    threads: list[Channel]  # newest first
    has_more: bool


class ThreadService:
    def __init__(self, kit: ChangeKit, store: MessageStore, messages: MessageService) -> None:
        self._kit = kit
        self._store = store
        self._messages = messages

    async def access(self, viewer: Viewer, thread_id: Snowflake) -> tuple[GuildView, Channel]:
        """A thread the viewer can see; NotFound otherwise (also for other channels)."""
        try:
            view, channel = await self._kit.access.view_channel(viewer, thread_id)
        except NotFound:
            raise NotFound("thread not found") from None
        if not channel.is_thread:
            raise NotFound("thread not found")
        return view, channel

    async def create(
        self,
        viewer: Viewer,
        channel_id: Snowflake,
        *,
        name: str,
        from_message_id: Snowflake | None = None,
        auto_archive: int | None = None,
    ) -> Channel:
        kit = self._kit
        view, parent = await kit.access.view_channel(viewer, channel_id)
        if parent.type != ChannelType.TEXT:
            raise BadUserInput("threads live in text channels", field="channelId")
        view.require_in(parent, Permission.CREATE_THREADS, "start threads")
        clean_name = validation.name(name, field="name", max_length=NAME_MAX)
        minutes = (
            parent.default_auto_archive_minutes
            if auto_archive is None
            else auto_archive_minutes(auto_archive, field="autoArchiveMinutes")
        )
        if from_message_id is not None:
            view.require_in(parent, Permission.READ_MESSAGE_HISTORY, "start a thread from it")
            origin = await self._store.get(from_message_id)
            if origin is None or origin.channel_id != parent.id:
                raise NotFound("message not found in this channel")
            if any(c.origin_message_id == from_message_id for c in view.data.channels.values()):
                raise Conflict("a thread was already started from this message")
        now = kit.now().replace(microsecond=0)
        thread = Channel(
            id=kit.ids.next_id(),
            guild_id=parent.guild_id,
            type=ChannelType.THREAD,
            name=clean_name,
            topic="",
            parent_id=parent.id,
            position=0,
            private=False,
            voice_region=None,
            created_at=now,
            owner_id=viewer.user_id,
            origin_message_id=from_message_id,
            auto_archive_minutes=minutes,
        )
        pending = Pending()
        created = await kit.store.create_thread(
            thread,
            creator=ThreadMember(parent.guild_id, thread.id, viewer.user_id, now),
            events=kit.guild_events(
                pending, parent.guild_id, lambda c, eid: ThreadCreated(event_id=eid, thread=c)
            ),
            audit=kit.audit(
                guild_id=parent.guild_id,
                actor_id=viewer.user_id,
                action="THREAD_CREATE",
                target_type="channel",
                target_id=thread.id,
                changes={"name": [None, clean_name], "parentId": [None, str(parent.id)]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        if from_message_id is not None:
            await self._messages.post_system_unchecked(
                channel_id=created.id,
                guild_id=parent.guild_id,
                author_id=viewer.user_id,
                kind=MessageType.THREAD_STARTER,
                reference_id=from_message_id,
            )
        await self._messages.post_system_unchecked(
            channel_id=parent.id,
            guild_id=parent.guild_id,
            author_id=viewer.user_id,
            kind=MessageType.THREAD_CREATED,
            reference_id=created.id,
            content=clean_name,
        )
        return created

    async def update(
        self,
        viewer: Viewer,
        thread_id: Snowflake,
        *,
        name: str | None = None,
        archived: bool | None = None,
        locked: bool | None = None,
        auto_archive: int | None = None,
    ) -> Channel:
        view, thread = await self.access(viewer, thread_id)
        moderator = bool(view.permissions_in(thread) & Permission.MANAGE_THREADS)
        if not moderator:
            if thread.owner_id != viewer.user_id:
                raise Forbidden(
                    "you need MANAGE_THREADS, or to have started it, to change a thread"
                )
            if thread.locked:
                raise Forbidden("you need MANAGE_THREADS to change a locked thread")
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = validation.name(name, field="name", max_length=NAME_MAX)
        if auto_archive is not None:
            values["auto_archive_minutes"] = auto_archive_minutes(
                auto_archive, field="autoArchiveMinutes"
            )
        if locked is not None and locked != thread.locked:
            values["locked"] = locked
        if archived is not None and archived != thread.archived:
            values["archived"] = archived
            values["archived_at"] = self._kit.now() if archived else None
        updated = await update_thread(self._kit, thread, values, actor_id=viewer.user_id)
        self._kit.access.forget(viewer)
        return updated

    async def delete(self, viewer: Viewer, thread_id: Snowflake) -> Channel:
        view, thread = await self.access(viewer, thread_id)
        view.require_in(thread, Permission.MANAGE_THREADS, "delete threads")
        kit = self._kit
        pending = Pending()
        removal = await kit.store.delete_channel(
            thread.guild_id,
            thread.id,
            events=kit.guild_events(
                pending,
                thread.guild_id,
                lambda r, eid: ThreadDeleted(event_id=eid, thread=r.channel),
            ),
            audit=kit.audit(
                guild_id=thread.guild_id,
                actor_id=viewer.user_id,
                action="THREAD_DELETE",
                target_type="channel",
                target_id=thread.id,
                changes={"name": [thread.name, None]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return removal.channel

    async def join(self, viewer: Viewer, thread_id: Snowflake) -> Channel:
        _, thread = await self.access(viewer, thread_id)
        kit = self._kit
        pending = Pending()
        await kit.store.add_thread_member(
            ThreadMember(thread.guild_id, thread.id, viewer.user_id, kit.now()),
            events=kit.events(
                pending,
                lambda r, eid: (
                    [
                        (
                            ThreadMembersUpdated(
                                event_id=eid, thread=thread, added_user_ids=(viewer.user_id,)
                            ),
                            [_guild_subject(thread)],
                        )
                    ]
                    if r[1]
                    else []
                ),
            ),
        )
        await kit.publish(pending)
        return thread

    async def leave(self, viewer: Viewer, thread_id: Snowflake) -> Channel:
        _, thread = await self.access(viewer, thread_id)
        kit = self._kit
        pending = Pending()
        await kit.store.remove_thread_member(
            thread.guild_id,
            thread.id,
            viewer.user_id,
            events=kit.events(
                pending,
                lambda removed, eid: (
                    [
                        (
                            ThreadMembersUpdated(
                                event_id=eid, thread=thread, removed_user_ids=(viewer.user_id,)
                            ),
                            [_guild_subject(thread)],
                        )
                    ]
                    if removed
                    else []
                ),
            ),
        )
        await kit.publish(pending)
        return thread

    async def list_members(
        self,
        viewer: Viewer,
        thread_id: Snowflake,
        *,
        after_user_id: Snowflake | None,
        limit: int,
    ) -> list[ThreadMember]:
        _, thread = await self.access(viewer, thread_id)
        return await self._kit.store.thread_members(
            thread.guild_id, thread.id, after_user_id=after_user_id, limit=limit
        )

    async def list_threads(
        self,
        viewer: Viewer,
        channel_id: Snowflake,
        *,
        archived: bool | None,
        before_id: Snowflake | None,
        limit: int,
    ) -> ThreadPage:
        """The channel's threads the viewer can see (all of them, as they take the channel's
        permissions), newest first."""
        view, parent = await self._kit.access.view_channel(viewer, channel_id)
        found = sorted(
            (
                c
                for c in view.data.channels.values()
                if c.is_thread
                and c.parent_id == parent.id
                and (archived is None or c.archived == archived)
                and (before_id is None or c.id < before_id)
            ),
            key=lambda c: c.id,
            reverse=True,
        )
        return ThreadPage(threads=found[:limit], has_more=len(found) > limit)

    async def thread_of_message(self, viewer: Viewer, message: Message) -> Channel | None:
        """The thread started from a message, or the one a THREAD_CREATED notice announces."""
        if message.guild_id is None:
            return None
        view = await self._kit.access.view(viewer, message.guild_id)
        if message.type == MessageType.THREAD_CREATED and message.reference_id is not None:
            found = view.data.channels.get(message.reference_id)
            return found if found is not None and found.is_thread else None
        key = ("threads-by-origin", message.guild_id)
        by_origin = viewer.cache.get(key)
        if by_origin is None:
            by_origin = {
                c.origin_message_id: c
                for c in view.data.channels.values()
                if c.origin_message_id is not None
            }
            viewer.cache[key] = by_origin
        found = by_origin.get(message.id)
        return found if isinstance(found, Channel) else None

    async def message_counts(
        self, viewer: Viewer, thread_ids: Sequence[Snowflake], *, cap: int
    ) -> dict[Snowflake, int | NotFound]:
        """How many messages each thread holds (up to `cap`), read together; NotFound for a
        thread the viewer cannot see."""
        found: dict[Snowflake, int | NotFound] = {}
        for thread_id in thread_ids:
            try:
                await self.access(viewer, thread_id)
            except NotFound as exc:
                found[thread_id] = exc
        visible = [t for t in thread_ids if t not in found]
        counts = await self._store.message_counts(visible, cap=cap) if visible else {}
        found.update({t: counts.get(t, 0) for t in visible})
        return found

    async def archive_inactive(self, *, now: datetime | None = None) -> int:
        """Archive the threads that had no message for their auto-archive delay; how many."""
        moment = now or self._kit.now()
        archived = 0
        after: Snowflake | None = None
        while True:
            page = await self.find_idle(after_id=after, now=moment)
            if page.last_id is None:
                return archived
            after = page.last_id
            archived += await self.archive_idle(page.idle, now=moment)

    async def find_idle(self, *, after_id: Snowflake | None, now: datetime) -> IdlePage:
        """The sweeper's read: one batch of open threads (after `after_id`, by id), and those
        of them idle for their auto-archive delay at `now`."""
        batch = await self._kit.store.open_threads(after_id=after_id, limit=SWEEP_BATCH)
        if not batch:
            return IdlePage(idle=[], last_id=None)
        last = await self._store.last_message_ids([o.thread.id for o in batch])
        return IdlePage(idle=_inactive(batch, last, now), last_id=batch[-1].thread.id)

    async def archive_idle(self, idle: Sequence[OpenThread], *, now: datetime) -> int:
        """The sweeper's write: archive the threads `find_idle` found, each only if it is still
        open with the activity read then (a send or a reopening since keeps it open); how
        many were archived."""
        kit = self._kit
        archived = 0
        for seen in idle:
            pending = Pending()
            done = await kit.store.archive_idle_thread(
                seen,
                archived_at=now,
                events=kit.guild_events(
                    pending,
                    seen.thread.guild_id,
                    lambda c, eid: ThreadUpdated(event_id=eid, thread=c),
                ),
            )
            await kit.publish(pending)
            archived += done is not None
        return archived


def _inactive(
    threads: Sequence[OpenThread], last: dict[Snowflake, Snowflake], now: datetime
) -> list[OpenThread]:
    found = []
    for seen in threads:
        thread = seen.thread
        active = max(thread.created_at, seen.last_activity_at or thread.created_at)
        if thread.id in last:
            active = max(active, ids.created_at(last[thread.id]))
        if thread.auto_archive_minutes > 0 and now - active >= timedelta(
            minutes=thread.auto_archive_minutes
        ):
            found.append(seen)
    return found


def _guild_subject(thread: Channel) -> str:
    return subjects.guild(thread.guild_id)
