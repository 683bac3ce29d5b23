"""Reactions: unicode emoji or the guild's own custom emoji. Adding needs ADD_REACTIONS (and
reading the message); removing your own needs nothing more, removing others' MANAGE_MESSAGES."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from gochat.bus import subjects
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import ReactionAdded, ReactionRemoved
from gochat.domain.messages import MessageService
from gochat.domain.permissions import Permission
from gochat.domain.records import Message, ReactionCount, Viewer
from gochat.errors import BadUserInput
from gochat.ids import Snowflake
from gochat.storage import MessageStore

UNICODE_MAX = 16
REACTORS_PAGE_MAX = 100
MAX_EMOJI_PER_MESSAGE = 20


@dataclass(frozen=True, slots=True)
class EmojiRef:
    unicode: str | None = None
    custom_id: Snowflake | None = None

    @property
    def key(self) -> str:
        return f"u:{self.unicode}" if self.unicode is not None else f"c:{self.custom_id}"

    @staticmethod
    def from_key(key: str) -> EmojiRef:
        kind, _, value = key.partition(":")
        return EmojiRef(unicode=value) if kind == "u" else EmojiRef(custom_id=Snowflake(int(value)))


def _unicode(raw: str) -> str:
    value = unicodedata.normalize("NFC", raw.strip())
    letters = {"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Zs", "Cc"}
    if not 1 <= len(value) <= UNICODE_MAX or any(unicodedata.category(c) in letters for c in value):
        raise BadUserInput("not an emoji", field="emoji")
    return value


class ReactionService:
    def __init__(self, kit: ChangeKit, store: MessageStore, messages: MessageService) -> None:
        self._kit = kit
        self._store = store
        self._messages = messages

    async def _emoji(self, viewer: Viewer, message: Message, emoji: EmojiRef) -> EmojiRef:
        if (emoji.unicode is None) == (emoji.custom_id is None):
            raise BadUserInput("give either a unicode emoji or a custom emoji id", field="emoji")
        if emoji.unicode is not None:
            return EmojiRef(unicode=_unicode(emoji.unicode))
        guild_emoji = (
            [] if message.guild_id is None else await self._kit.store.list_emoji(message.guild_id)
        )
        if not any(e.id == emoji.custom_id for e in guild_emoji):
            raise BadUserInput("custom emoji must belong to this guild", field="emoji")
        return emoji

    async def add(self, viewer: Viewer, message_id: Snowflake, emoji: EmojiRef) -> Message:
        message, access = await self._messages.access(viewer, message_id)
        access.require(Permission.ADD_REACTIONS, "add reactions")
        emoji = await self._emoji(viewer, message, emoji)
        counts = (
            await self._store.reaction_counts(message.channel_id, [message.id], viewer.user_id)
        ).get(message.id, [])
        if emoji.key not in {c.emoji for c in counts} and len(counts) >= MAX_EMOJI_PER_MESSAGE:
            raise BadUserInput(
                f"a message has at most {MAX_EMOJI_PER_MESSAGE} different reactions", field="emoji"
            )
        kit = self._kit
        pending = Pending()
        await self._store.add_reaction(
            message.channel_id,
            message.id,
            emoji.key,
            viewer.user_id,
            now=kit.now(),
            events=kit.events(
                pending,
                lambda _, eid: [
                    (
                        ReactionAdded(
                            event_id=eid,
                            channel_id=message.channel_id,
                            guild_id=message.guild_id,
                            message_id=message.id,
                            user_id=viewer.user_id,
                            emoji=emoji.key,
                        ),
                        [subjects.message_channel(message.channel_id, message.guild_id)],
                    )
                ],
            ),
        )
        await kit.publish(pending)
        return message

    async def remove(
        self,
        viewer: Viewer,
        message_id: Snowflake,
        emoji: EmojiRef,
        *,
        user_id: Snowflake | None = None,
    ) -> Message:
        message, access = await self._messages.access(viewer, message_id)
        target = user_id or viewer.user_id
        if target != viewer.user_id:
            access.require(Permission.MANAGE_MESSAGES, "remove others' reactions")
        key = (
            EmojiRef(unicode=_unicode(emoji.unicode)).key
            if emoji.unicode is not None
            else emoji.key
        )
        kit = self._kit
        pending = Pending()
        await self._store.remove_reaction(
            message.channel_id,
            message.id,
            key,
            target,
            events=kit.events(
                pending,
                lambda _, eid: [
                    (
                        ReactionRemoved(
                            event_id=eid,
                            channel_id=message.channel_id,
                            guild_id=message.guild_id,
                            message_id=message.id,
                            user_id=target,
                            emoji=key,
                        ),
                        [subjects.message_channel(message.channel_id, message.guild_id)],
                    )
                ],
            ),
        )
        await kit.publish(pending)
        return message

    async def counts(
        self, viewer: Viewer, channel_id: Snowflake, message_ids: list[Snowflake]
    ) -> dict[Snowflake, list[ReactionCount]]:
        """For messages the caller already read through an authorized path."""
        return await self._store.reaction_counts(channel_id, message_ids, viewer.user_id)

    async def reactors(
        self,
        viewer: Viewer,
        message_id: Snowflake,
        emoji: EmojiRef,
        *,
        after: Snowflake | None,
        limit: int,
    ) -> list[Snowflake]:
        message, _ = await self._messages.access(viewer, message_id)
        if not 1 <= limit <= REACTORS_PAGE_MAX + 1:
            raise BadUserInput(f"page size is 1 to {REACTORS_PAGE_MAX}", field="first")
        key = (
            EmojiRef(unicode=_unicode(emoji.unicode)).key
            if emoji.unicode is not None
            else emoji.key
        )
        return await self._store.reactors(
            message.channel_id, message.id, key, after_user_id=after, limit=limit
        )
