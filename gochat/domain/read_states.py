"""Read states: a per-user, per-channel marker that only moves forward, with unread and
mention counts derived from it."""

from __future__ import annotations

from gochat.bus import subjects
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import ReadStateUpdated
from gochat.domain.messages import MessageService
from gochat.domain.permissions import Permission
from gochat.domain.records import Message, ReadState, Viewer
from gochat.errors import BadUserInput, NotFound
from gochat.ids import Snowflake
from gochat.storage import MessageStore

COUNT_CAP = 1000
MENTIONS_PAGE_MAX = 100


class ReadStateService:
    def __init__(self, kit: ChangeKit, store: MessageStore, messages: MessageService) -> None:
        self._kit = kit
        self._store = store
        self._messages = messages

    async def ack(self, viewer: Viewer, channel_id: Snowflake, message_id: Snowflake) -> ReadState:
        message, access = await self._messages.access(viewer, message_id)
        if message.channel_id != channel_id:
            raise NotFound("message not found")
        access.require(Permission.READ_MESSAGE_HISTORY, "mark messages read")
        kit = self._kit
        pending = Pending()
        state = await self._store.ack(
            viewer.user_id,
            channel_id,
            message_id,
            events=kit.events(
                pending,
                lambda s, eid: [
                    (ReadStateUpdated(event_id=eid, state=s), [subjects.user(viewer.user_id)])
                ],
            ),
        )
        await kit.publish(pending)
        return state

    async def list_mine(self, viewer: Viewer) -> list[ReadState]:
        return await self._store.read_states(viewer.user_id)

    async def unread_count(self, viewer: Viewer, channel_id: Snowflake) -> int:
        access = await self._messages.channel_access(viewer, channel_id)
        if not access.has(Permission.READ_MESSAGE_HISTORY):
            return 0  # what you cannot read is not waiting for you
        marker = await self._marker(viewer, channel_id)
        return await self._store.count_after(channel_id, marker, cap=COUNT_CAP)

    async def mention_count(self, viewer: Viewer, channel_id: Snowflake) -> int:
        access = await self._messages.channel_access(viewer, channel_id)
        if not access.has(Permission.READ_MESSAGE_HISTORY):
            return 0
        marker = await self._marker(viewer, channel_id)
        roles = access.mention_role_ids
        return await self._store.count_mentions_after(
            viewer.user_id, channel_id, marker, role_ids=roles, cap=COUNT_CAP
        )

    async def mentions(
        self, viewer: Viewer, *, before: Snowflake | None, limit: int
    ) -> tuple[list[Message], bool]:
        """Recent messages mentioning the viewer directly, newest first, in channels they can
        still read; and whether older ones exist."""
        if not 1 <= limit <= MENTIONS_PAGE_MAX:
            raise BadUserInput(f"page size is 1 to {MENTIONS_PAGE_MAX}", field="first")
        found = await self._store.mentions_of(
            viewer.user_id, before_message_id=before, limit=limit + 1
        )
        visible: list[Message] = []
        for ref in found[:limit]:
            try:
                message, _ = await self._messages.access(viewer, ref.message_id)
            except NotFound:
                continue
            visible.append(message)
        return visible, len(found) > limit

    async def _marker(self, viewer: Viewer, channel_id: Snowflake) -> Snowflake | None:
        states = await self._store.read_states(viewer.user_id, [channel_id])
        return states[0].last_read_id if states else None
