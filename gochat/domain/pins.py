"""Pins: MANAGE_MESSAGES pins or unpins; pinning posts a MESSAGE_PINNED system message."""

from __future__ import annotations

from gochat.bus import subjects
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import MessagePinned
from gochat.domain.messages import MessageService
from gochat.domain.permissions import Permission
from gochat.domain.records import Message, MessageType, Viewer
from gochat.errors import BadUserInput, NotFound
from gochat.ids import Snowflake
from gochat.storage import MessageStore

MAX_PINS = 50


class PinService:
    def __init__(self, kit: ChangeKit, store: MessageStore, messages: MessageService) -> None:
        self._kit = kit
        self._store = store
        self._messages = messages

    async def list_pins(self, viewer: Viewer, channel_id: Snowflake) -> list[Message]:
        access = await self._messages.channel_access(viewer, channel_id)
        access.require(Permission.READ_MESSAGE_HISTORY, "read pins")
        return await self._store.pins(channel_id)

    async def set_pinned(self, viewer: Viewer, message_id: Snowflake, *, pinned: bool) -> Message:
        message, access = await self._messages.access(viewer, message_id)
        access.require(Permission.MANAGE_MESSAGES, "pin messages")
        if message.pinned == pinned:
            return message
        if pinned and len(await self._store.pins(message.channel_id)) >= MAX_PINS:
            raise BadUserInput(f"a channel holds at most {MAX_PINS} pins", field="messageId")
        kit = self._kit
        pending = Pending()
        changed = await self._store.set_pinned(
            message.channel_id,
            message.id,
            pinned=pinned,
            events=kit.events(
                pending,
                lambda m, eid: [
                    (
                        MessagePinned(event_id=eid, message=m),
                        [subjects.message_channel(m.channel_id, m.guild_id)],
                    )
                ],
            ),
        )
        if changed is None:
            raise NotFound("message not found")
        await kit.publish(pending)
        if pinned:
            await self._post_pin_notice(viewer, changed)
        return changed

    async def _post_pin_notice(self, viewer: Viewer, pinned: Message) -> None:
        await self._messages.post_system_unchecked(
            channel_id=pinned.channel_id,
            guild_id=pinned.guild_id,
            author_id=viewer.user_id,
            kind=MessageType.MESSAGE_PINNED,
            reference_id=pinned.id,
        )
