"""Custom emoji metadata: create (CREATE_EXPRESSIONS), rename and delete (MANAGE_EXPRESSIONS).
Names are unique per guild; a guild holds at most the configured number. An emoji's image is an
EMOJI upload of the guild, used once; whether it is animated is read from the image."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gochat.domain.attachments import AttachmentService
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import EmojiCreated, EmojiDeleted, EmojiUpdated
from gochat.domain.permissions import Permission
from gochat.domain.records import Emoji, UploadPurpose, Viewer
from gochat.errors import BadUserInput, NotFound
from gochat.ids import Snowflake

_NAME = re.compile(r"^[A-Za-z0-9_]{2,32}$")
# How a custom emoji is written in message content: <:name:id>, or <a:name:id> when animated.
_IN_CONTENT = re.compile(r"<a?:([A-Za-z0-9_]{2,32}):(\d{1,19})>")
IN_CONTENT_MAX = 50


def emoji_ids_in(content: str) -> list[Snowflake]:
    """The ids of the custom emoji written in a message, in order, each once (at most 50)."""
    found = dict.fromkeys(Snowflake(int(m.group(2))) for m in _IN_CONTENT.finditer(content))
    return list(found)[:IN_CONTENT_MAX]


def emoji_name(raw: str) -> str:
    value = raw.strip()
    if not _NAME.match(value):
        raise BadUserInput("an emoji name has 2-32 letters, digits or '_'", field="name")
    return value


class EmojiService:
    def __init__(
        self, kit: ChangeKit, *, max_per_guild: int, files: AttachmentService | None = None
    ) -> None:
        self._kit = kit
        self._max = max_per_guild
        self._files = files

    async def list_emoji(self, viewer: Viewer, guild_id: Snowflake) -> list[Emoji]:
        await self._kit.access.view(viewer, guild_id)
        return await self._kit.store.list_emoji(guild_id)

    async def create(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        *,
        name: str,
        animated: bool,
        upload_id: Snowflake | None = None,
    ) -> Emoji:
        """With an image upload, `animated` is what the image is, not what was asked."""
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.CREATE_EXPRESSIONS, "create emoji")
        checked_name = emoji_name(name)
        image = None
        if upload_id is not None:
            if self._files is None:
                raise BadUserInput("emoji images are not available here", field="uploadId")
            image = await self._files.use_image(
                viewer, upload_id, purpose=UploadPurpose.EMOJI, guild_id=guild_id
            )
            animated = image.animated
        kit = self._kit
        item = Emoji(
            kit.ids.next_id(),
            guild_id,
            checked_name,
            viewer.user_id,
            animated,
            kit.now().replace(microsecond=0),
            image_id=None if image is None else image.id,
        )
        pending = Pending()
        created = await kit.store.create_emoji(
            item,
            max_per_guild=self._max,
            events=kit.guild_events(
                pending, guild_id, lambda e, eid: EmojiCreated(event_id=eid, emoji=e)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="EMOJI_CREATE",
                target_type="emoji",
                target_id=item.id,
                changes={"name": [None, item.name]},
            ),
        )
        await kit.publish(pending)
        if image is not None and self._files is not None:
            self._files.used([image])
        return created

    async def rename(
        self, viewer: Viewer, guild_id: Snowflake, emoji_id: Snowflake, *, name: str
    ) -> Emoji:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_EXPRESSIONS, "rename emoji")
        new_name = emoji_name(name)
        kit = self._kit
        pending = Pending()
        renamed = await kit.store.rename_emoji(
            guild_id,
            emoji_id,
            new_name,
            events=kit.guild_events(
                pending, guild_id, lambda e, eid: EmojiUpdated(event_id=eid, emoji=e)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="EMOJI_UPDATE",
                target_type="emoji",
                target_id=emoji_id,
                changes={"name": new_name},
            ),
        )
        await kit.publish(pending)
        return renamed

    async def delete(self, viewer: Viewer, guild_id: Snowflake, emoji_id: Snowflake) -> Emoji:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_EXPRESSIONS, "delete emoji")
        kit = self._kit
        pending = Pending()
        deleted = await kit.store.delete_emoji(
            guild_id,
            emoji_id,
            events=kit.guild_events(
                pending, guild_id, lambda e, eid: EmojiDeleted(event_id=eid, emoji=e)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="EMOJI_DELETE",
                target_type="emoji",
                target_id=emoji_id,
            ),
        )
        await kit.publish(pending)
        return deleted

    async def find(self, viewer: Viewer, emoji_id: Snowflake) -> Emoji:
        """An emoji of one of the viewer's guilds (members see every emoji of their guilds);
        NotFound for a missing emoji and for another guild's alike."""
        # Emoji are stored per guild: a bare id is looked for in the viewer's own guilds.
        for guild in await self._kit.store.list_guilds_of_user(viewer.user_id):
            for item in await self.list_emoji(viewer, guild.id):
                if item.id == emoji_id:
                    return item
        raise NotFound("emoji not found")

    async def get_many(self, emoji_ids: Sequence[Snowflake]) -> dict[Snowflake, Emoji]:
        """Emoji by id, from any guild: what a message that names them shows (name and
        image are public, like the image URLs)."""
        return await self._kit.store.get_emoji_by_ids(emoji_ids)

    async def get(self, viewer: Viewer, guild_id: Snowflake, emoji_id: Snowflake) -> Emoji:
        for item in await self.list_emoji(viewer, guild_id):
            if item.id == emoji_id:
                return item
        raise NotFound("emoji not found")
