"""Guilds: creation with its default roles and channels, settings, ownership, deletion."""

from __future__ import annotations

from gochat.bus import subjects
from gochat.domain import validation
from gochat.domain.attachments import AttachmentService
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import GuildCreated, GuildDeleted, GuildUpdated
from gochat.domain.guild_access import GuildView
from gochat.domain.permissions import DEFAULT_EVERYONE, Permission
from gochat.domain.records import (
    Channel,
    ChannelType,
    Guild,
    Member,
    Role,
    Upload,
    UploadPurpose,
    Viewer,
)
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake

GUILD_NAME_MIN = 2
GUILD_NAME_MAX = 100


class GuildService:
    def __init__(
        self,
        kit: ChangeKit,
        *,
        default_voice_region: str,
        files: AttachmentService | None = None,
    ) -> None:
        self._kit = kit
        self._default_region = default_voice_region
        self._files = files

    async def access(self, viewer: Viewer, guild_id: Snowflake) -> GuildView:
        return await self._kit.access.view(viewer, guild_id)

    async def list_mine(self, viewer: Viewer) -> list[Guild]:
        return await self._kit.store.list_guilds_of_user(viewer.user_id)

    async def find_role(self, viewer: Viewer, role_id: Snowflake) -> Role:
        """A role of one of the viewer's guilds (members see every role of their guilds);
        NotFound for a missing role and for another guild's alike."""
        # Roles are stored per guild: a bare id is looked for in the viewer's own guilds.
        for guild in await self.list_mine(viewer):
            view = await self.access(viewer, guild.id)
            role = view.data.roles.get(role_id)
            if role is not None:
                return role
        raise NotFound("role not found")

    async def member_count(self, guild_id: Snowflake) -> int:
        return await self._kit.store.count_members(guild_id)

    async def create(self, viewer: Viewer, *, name: str) -> Guild:
        name = validation.name(
            name, field="name", min_length=GUILD_NAME_MIN, max_length=GUILD_NAME_MAX
        )
        kit = self._kit
        now = kit.now().replace(microsecond=0)
        guild_id = kit.ids.next_id()
        text_id, voice_id = kit.ids.next_id(), kit.ids.next_id()
        guild = Guild(guild_id, name, viewer.user_id, text_id, now)
        everyone = Role(
            id=guild_id,
            guild_id=guild_id,
            name="@everyone",
            color=0,
            permissions=int(DEFAULT_EVERYONE),
            position=0,
            hoist=False,
            mentionable=False,
            created_at=now,
        )
        channels = [
            Channel(
                id=text_id,
                guild_id=guild_id,
                type=ChannelType.TEXT,
                name="general",
                topic="",
                parent_id=None,
                position=0,
                private=False,
                voice_region=None,
                created_at=now,
            ),
            Channel(
                id=voice_id,
                guild_id=guild_id,
                type=ChannelType.VOICE,
                name="General",
                topic="",
                parent_id=None,
                position=1,
                private=False,
                voice_region=self._default_region,
                created_at=now,
            ),
        ]
        owner = Member(guild_id, viewer.user_id, None, now, (), None)
        pending = Pending()
        await kit.store.create_guild(
            guild=guild,
            everyone=everyone,
            channels_=channels,
            owner=owner,
            events=kit.events(
                pending,
                lambda g, eid: [
                    (GuildCreated(event_id=eid, guild=g), [subjects.user(viewer.user_id)])
                ],
            ),
        )
        await kit.publish(pending)
        return guild

    async def update(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        *,
        name: str | None,
        icon_upload_id: Snowflake | None = None,
        banner_upload_id: Snowflake | None = None,
    ) -> Guild:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_SERVER, "change the guild")
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = validation.name(
                name, field="name", min_length=GUILD_NAME_MIN, max_length=GUILD_NAME_MAX
            )
        used: list[Upload] = []
        for column, upload_id, purpose in (
            ("icon_id", icon_upload_id, UploadPurpose.GUILD_ICON),
            ("banner_id", banner_upload_id, UploadPurpose.GUILD_BANNER),
        ):
            if upload_id is None:
                continue
            if self._files is None:
                raise BadUserInput("guild images are not available here", field=column)
            image = await self._files.use_image(
                viewer, upload_id, purpose=purpose, guild_id=guild_id
            )
            used.append(image)
            values[column] = image.id
        if not values:
            return view.guild
        guild = await self._save(viewer, view, values, action="GUILD_UPDATE")
        if used and self._files is not None:
            self._files.used(used)
        return guild

    async def set_system_channel(
        self, viewer: Viewer, guild_id: Snowflake, channel_id: Snowflake | None
    ) -> Guild:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_SERVER, "set the system channel")
        if channel_id is not None:
            channel = view.channel(channel_id)
            if channel.type != ChannelType.TEXT:
                raise BadUserInput("the system channel must be a text channel", field="channelId")
        return await self._save(
            viewer, view, {"system_channel_id": channel_id}, action="GUILD_UPDATE"
        )

    async def transfer_ownership(
        self, viewer: Viewer, guild_id: Snowflake, new_owner_id: Snowflake
    ) -> Guild:
        view = await self._kit.access.view(viewer, guild_id)
        if not view.is_owner:
            raise Forbidden("only the owner can transfer the guild")
        if new_owner_id == viewer.user_id:
            raise BadUserInput("you already own this guild", field="userId")
        kit = self._kit
        pending = Pending()
        guild = await kit.store.transfer_ownership(
            guild_id,
            from_user=viewer.user_id,
            to_user=new_owner_id,
            events=kit.guild_events(
                pending, guild_id, lambda g, eid: GuildUpdated(event_id=eid, guild=g)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="GUILD_OWNER_TRANSFER",
                target_type="user",
                target_id=new_owner_id,
                changes={"ownerId": [str(viewer.user_id), str(new_owner_id)]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return guild

    async def delete(self, viewer: Viewer, guild_id: Snowflake) -> None:
        view = await self._kit.access.view(viewer, guild_id)
        if not view.is_owner:
            raise Forbidden("only the owner can delete the guild")
        kit = self._kit
        pending = Pending()
        await kit.store.delete_guild(
            guild_id,
            events=kit.guild_events(
                pending, guild_id, lambda g, eid: GuildDeleted(event_id=eid, guild_id=g)
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)

    async def _save(
        self, viewer: Viewer, view: GuildView, values: dict[str, object], *, action: str
    ) -> Guild:
        kit = self._kit
        before = view.guild
        pending = Pending()
        guild = await kit.store.update_guild(
            before.id,
            values,
            events=kit.guild_events(
                pending, before.id, lambda g, eid: GuildUpdated(event_id=eid, guild=g)
            ),
            audit=kit.audit(
                guild_id=before.id,
                actor_id=viewer.user_id,
                action=action,
                target_type="guild",
                target_id=before.id,
                changes={k: [getattr(before, k), v] for k, v in values.items()},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return guild
