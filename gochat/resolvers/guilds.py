"""Guild-area operations: guilds, channels, roles, overwrites, members, moderation, invites,
emoji. Each parses ids, calls one domain method and wraps the record."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.domain.channels import ChannelRules, Placement
from gochat.domain.records import ChannelType
from gochat.schema.accounts import User
from gochat.schema.channels import Channel, PermissionOverwrite, channel_shape
from gochat.schema.common import LOOKUP_RULE, MUTATION_INPUT, mask_from_names, snowflake, to_id
from gochat.schema.context import Info
from gochat.schema.guild_operations import (
    AcceptInviteInput,
    AcceptInvitePayload,
    AssignRoleInput,
    AssignRolePayload,
    BanMemberInput,
    BanMemberPayload,
    CreateChannelInput,
    CreateChannelPayload,
    CreateEmojiInput,
    CreateEmojiPayload,
    CreateGuildInput,
    CreateGuildPayload,
    CreateInviteInput,
    CreateInvitePayload,
    CreateRoleInput,
    CreateRolePayload,
    DeleteChannelInput,
    DeleteChannelPayload,
    DeleteChannelPermissionOverwriteInput,
    DeleteChannelPermissionOverwritePayload,
    DeleteEmojiInput,
    DeleteEmojiPayload,
    DeleteGuildInput,
    DeleteGuildPayload,
    DeleteRoleInput,
    DeleteRolePayload,
    KickMemberInput,
    KickMemberPayload,
    LeaveGuildInput,
    LeaveGuildPayload,
    RemoveRoleInput,
    RemoveRolePayload,
    RenameEmojiInput,
    RenameEmojiPayload,
    ReorderChannelsInput,
    ReorderChannelsPayload,
    ReorderRolesInput,
    ReorderRolesPayload,
    RevokeInviteInput,
    RevokeInvitePayload,
    SetChannelPermissionOverwriteInput,
    SetChannelPermissionOverwritePayload,
    SetNicknameInput,
    SetNicknamePayload,
    SetSystemChannelInput,
    SetSystemChannelPayload,
    TimeoutMemberInput,
    TimeoutMemberPayload,
    TransferGuildOwnershipInput,
    TransferGuildOwnershipPayload,
    UnbanMemberInput,
    UnbanMemberPayload,
    UpdateChannelInput,
    UpdateChannelPayload,
    UpdateGuildInput,
    UpdateGuildPayload,
    UpdateRoleInput,
    UpdateRolePayload,
)
from gochat.schema.guilds import Ban, Emoji, Guild, Member, Role
from gochat.schema.invites import Invite, InvitePreview


@strawberry.type
class GuildQuery:
    @strawberry.field(description=f"A guild you are a member of. {LOOKUP_RULE}")
    async def guild(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Snowflake id of the guild.")],
    ) -> Guild | None:
        view = await info.context.services.guilds.access(
            await info.context.viewer(), snowflake(id, field="id")
        )
        return Guild(record=view.guild)

    @strawberry.field(description=f"A guild channel you can see. {LOOKUP_RULE}")
    async def channel(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Snowflake id of the channel.")
        ],
    ) -> Channel | None:
        _, channel = await info.context.services.channels.access(
            await info.context.viewer(), snowflake(id, field="id")
        )
        return channel_shape(channel)

    @strawberry.field(
        description="Preview an invite without joining; works signed out. Unknown, expired or "
        "used up: null here, with one NOT_FOUND error at this field."
    )
    async def invite(
        self, info: Info, code: Annotated[str, strawberry.argument(description="Invite code.")]
    ) -> InvitePreview | None:
        preview = await info.context.services.invites.preview(code.strip())
        return InvitePreview(
            code=preview.invite.code,
            guild_id=to_id(preview.guild.id),
            guild_name=preview.guild.name,
            member_count=preview.member_count,
            inviter=None if preview.inviter is None else User.from_record(preview.inviter),
            expires_at=preview.invite.expires_at,
        )


@strawberry.type
class GuildMutation:
    @strawberry.mutation(
        description="Create a guild with @everyone, #general and a General voice channel."
    )
    async def create_guild(
        self, info: Info, input: Annotated[CreateGuildInput, MUTATION_INPUT]
    ) -> CreateGuildPayload:
        guild = await info.context.services.guilds.create(
            await info.context.viewer(), name=input.name
        )
        return CreateGuildPayload(guild=Guild(record=guild))

    @strawberry.mutation(description="Change guild settings (MANAGE_SERVER).")
    async def update_guild(
        self, info: Info, input: Annotated[UpdateGuildInput, MUTATION_INPUT]
    ) -> UpdateGuildPayload:
        guild = await info.context.services.guilds.update(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            name=input.name,
            icon_upload_id=None
            if input.icon_upload_id is None
            else snowflake(input.icon_upload_id, field="iconUploadId"),
            banner_upload_id=None
            if input.banner_upload_id is None
            else snowflake(input.banner_upload_id, field="bannerUploadId"),
        )
        return UpdateGuildPayload(guild=Guild(record=guild))

    @strawberry.mutation(description="Delete a guild (owner only).")
    async def delete_guild(
        self, info: Info, input: Annotated[DeleteGuildInput, MUTATION_INPUT]
    ) -> DeleteGuildPayload:
        guild_id = snowflake(input.guild_id, field="guildId")
        await info.context.services.guilds.delete(await info.context.viewer(), guild_id)
        return DeleteGuildPayload(guild_id=to_id(guild_id))

    @strawberry.mutation(description="Hand the guild to another member (owner only).")
    async def transfer_guild_ownership(
        self, info: Info, input: Annotated[TransferGuildOwnershipInput, MUTATION_INPUT]
    ) -> TransferGuildOwnershipPayload:
        guild = await info.context.services.guilds.transfer_ownership(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
        )
        return TransferGuildOwnershipPayload(guild=Guild(record=guild))

    @strawberry.mutation(description="Set or clear the system-messages channel (MANAGE_SERVER).")
    async def set_system_channel(
        self, info: Info, input: Annotated[SetSystemChannelInput, MUTATION_INPUT]
    ) -> SetSystemChannelPayload:
        guild = await info.context.services.guilds.set_system_channel(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            None if input.channel_id is None else snowflake(input.channel_id, field="channelId"),
        )
        return SetSystemChannelPayload(guild=Guild(record=guild))

    @strawberry.mutation(description="Create a channel (MANAGE_CHANNELS).")
    async def create_channel(
        self, info: Info, input: Annotated[CreateChannelInput, MUTATION_INPUT]
    ) -> CreateChannelPayload:
        channel = await info.context.services.channels.create(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            kind=ChannelType(input.type.value),
            name=input.name,
            topic=input.topic,
            parent_id=None
            if input.parent_id is None
            else snowflake(input.parent_id, field="parentId"),
            private=input.private,
            voice_region=input.voice_region,
            user_limit=input.user_limit,
            rules=ChannelRules(
                rate_limit_per_user=input.rate_limit_per_user,
                nsfw=input.nsfw,
                default_auto_archive_minutes=input.default_auto_archive_minutes,
            ),
        )
        return CreateChannelPayload(channel=channel_shape(channel))

    @strawberry.mutation(description="Change a channel (MANAGE_CHANNELS in it).")
    async def update_channel(
        self, info: Info, input: Annotated[UpdateChannelInput, MUTATION_INPUT]
    ) -> UpdateChannelPayload:
        channel = await info.context.services.channels.update(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            name=input.name,
            topic=input.topic,
            parent_id=None
            if input.parent_id is None
            else snowflake(input.parent_id, field="parentId"),
            clear_parent=input.remove_from_parent,
            private=input.private,
            voice_region=input.voice_region,
            user_limit=input.user_limit,
            sync_with_parent=input.sync_with_parent,
            rules=ChannelRules(
                rate_limit_per_user=input.rate_limit_per_user,
                nsfw=input.nsfw,
                default_auto_archive_minutes=input.default_auto_archive_minutes,
            ),
        )
        return UpdateChannelPayload(channel=channel_shape(channel))

    @strawberry.mutation(description="Delete a channel (MANAGE_CHANNELS in it).")
    async def delete_channel(
        self, info: Info, input: Annotated[DeleteChannelInput, MUTATION_INPUT]
    ) -> DeleteChannelPayload:
        channel = await info.context.services.channels.delete(
            await info.context.viewer(), snowflake(input.channel_id, field="channelId")
        )
        return DeleteChannelPayload(channel_id=to_id(channel.id))

    @strawberry.mutation(
        description="Move channels; all placements apply or none (MANAGE_CHANNELS)."
    )
    async def reorder_channels(
        self, info: Info, input: Annotated[ReorderChannelsInput, MUTATION_INPUT]
    ) -> ReorderChannelsPayload:
        channels = await info.context.services.channels.reorder(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            [
                Placement(
                    channel_id=snowflake(p.channel_id, field="channels"),
                    parent_id=None
                    if p.parent_id is None
                    else snowflake(p.parent_id, field="channels"),
                    position=p.position,
                )
                for p in input.channels
            ],
        )
        return ReorderChannelsPayload(channels=[channel_shape(c) for c in channels])

    @strawberry.mutation(description="Create a role (MANAGE_ROLES; only permissions you hold).")
    async def create_role(
        self, info: Info, input: Annotated[CreateRoleInput, MUTATION_INPUT]
    ) -> CreateRolePayload:
        role = await info.context.services.roles.create(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            name=input.name,
            color=input.color,
            permissions=mask_from_names(input.permissions),
            hoist=input.hoist,
            mentionable=input.mentionable,
        )
        return CreateRolePayload(role=Role(record=role))

    @strawberry.mutation(description="Change a role below your highest (MANAGE_ROLES).")
    async def update_role(
        self, info: Info, input: Annotated[UpdateRoleInput, MUTATION_INPUT]
    ) -> UpdateRolePayload:
        role = await info.context.services.roles.update(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.role_id, field="roleId"),
            name=input.name,
            color=input.color,
            permissions=None if input.permissions is None else mask_from_names(input.permissions),
            hoist=input.hoist,
            mentionable=input.mentionable,
        )
        return UpdateRolePayload(role=Role(record=role))

    @strawberry.mutation(description="Delete a role below your highest (MANAGE_ROLES).")
    async def delete_role(
        self, info: Info, input: Annotated[DeleteRoleInput, MUTATION_INPUT]
    ) -> DeleteRolePayload:
        role = await info.context.services.roles.delete(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.role_id, field="roleId"),
        )
        return DeleteRolePayload(role_id=to_id(role.id))

    @strawberry.mutation(description="Set role positions (MANAGE_ROLES).")
    async def reorder_roles(
        self, info: Info, input: Annotated[ReorderRolesInput, MUTATION_INPUT]
    ) -> ReorderRolesPayload:
        roles = await info.context.services.roles.reorder(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            [(snowflake(r.role_id, field="roles"), r.position) for r in input.roles],
        )
        return ReorderRolesPayload(roles=[Role(record=r) for r in roles])

    @strawberry.mutation(description="Give a member a role below your highest (MANAGE_ROLES).")
    async def assign_role(
        self, info: Info, input: Annotated[AssignRoleInput, MUTATION_INPUT]
    ) -> AssignRolePayload:
        member = await info.context.services.roles.assign(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            snowflake(input.role_id, field="roleId"),
        )
        return AssignRolePayload(member=Member(record=member))

    @strawberry.mutation(description="Take a role below your highest from a member (MANAGE_ROLES).")
    async def remove_role(
        self, info: Info, input: Annotated[RemoveRoleInput, MUTATION_INPUT]
    ) -> RemoveRolePayload:
        member = await info.context.services.roles.remove(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            snowflake(input.role_id, field="roleId"),
        )
        return RemoveRolePayload(member=Member(record=member))

    @strawberry.mutation(description="Create or replace a channel overwrite (MANAGE_ROLES there).")
    async def set_channel_permission_overwrite(
        self, info: Info, input: Annotated[SetChannelPermissionOverwriteInput, MUTATION_INPUT]
    ) -> SetChannelPermissionOverwritePayload:
        overwrite = await info.context.services.channels.set_overwrite(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            target_type=input.target_type.value,
            target_id=snowflake(input.target_id, field="targetId"),
            allow=mask_from_names(input.allow),
            deny=mask_from_names(input.deny),
        )
        return SetChannelPermissionOverwritePayload(overwrite=PermissionOverwrite(record=overwrite))

    @strawberry.mutation(description="Remove a channel overwrite (MANAGE_ROLES there).")
    async def delete_channel_permission_overwrite(
        self, info: Info, input: Annotated[DeleteChannelPermissionOverwriteInput, MUTATION_INPUT]
    ) -> DeleteChannelPermissionOverwritePayload:
        channel_id = snowflake(input.channel_id, field="channelId")
        await info.context.services.channels.delete_overwrite(
            await info.context.viewer(),
            channel_id,
            target_type=input.target_type.value,
            target_id=snowflake(input.target_id, field="targetId"),
        )
        return DeleteChannelPermissionOverwritePayload(channel_id=to_id(channel_id))

    @strawberry.mutation(description="Set or clear a nickname.")
    async def set_nickname(
        self, info: Info, input: Annotated[SetNicknameInput, MUTATION_INPUT]
    ) -> SetNicknamePayload:
        member = await info.context.services.members.set_nickname(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            input.nickname,
        )
        return SetNicknamePayload(member=Member(record=member))

    @strawberry.mutation(description="Leave a guild.")
    async def leave_guild(
        self, info: Info, input: Annotated[LeaveGuildInput, MUTATION_INPUT]
    ) -> LeaveGuildPayload:
        guild_id = snowflake(input.guild_id, field="guildId")
        await info.context.services.members.leave(await info.context.viewer(), guild_id)
        return LeaveGuildPayload(guild_id=to_id(guild_id))

    @strawberry.mutation(description="Kick a member (KICK_MEMBERS).")
    async def kick_member(
        self, info: Info, input: Annotated[KickMemberInput, MUTATION_INPUT]
    ) -> KickMemberPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.moderation.kick(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            user_id,
            reason=input.reason,
        )
        return KickMemberPayload(user_id=to_id(user_id))

    @strawberry.mutation(
        description="Ban a user (BAN_MEMBERS). With deleteMessageSeconds, their messages in "
        "the guild from that many seconds before the ban are removed in the background, each "
        "channel's announced by MessagesDeleted."
    )
    async def ban_member(
        self, info: Info, input: Annotated[BanMemberInput, MUTATION_INPUT]
    ) -> BanMemberPayload:
        ban = await info.context.services.moderation.ban(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            reason=input.reason,
            delete_message_seconds=input.delete_message_seconds,
        )
        return BanMemberPayload(ban=Ban(record=ban))

    @strawberry.mutation(description="Lift a ban (BAN_MEMBERS).")
    async def unban_member(
        self, info: Info, input: Annotated[UnbanMemberInput, MUTATION_INPUT]
    ) -> UnbanMemberPayload:
        ban = await info.context.services.moderation.unban(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
        )
        return UnbanMemberPayload(user_id=to_id(ban.user_id))

    @strawberry.mutation(description="Time a member out, or lift it (TIMEOUT_MEMBERS).")
    async def timeout_member(
        self, info: Info, input: Annotated[TimeoutMemberInput, MUTATION_INPUT]
    ) -> TimeoutMemberPayload:
        member = await info.context.services.moderation.timeout(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.user_id, field="userId"),
            until=input.until,
            reason=input.reason,
        )
        return TimeoutMemberPayload(member=Member(record=member))

    @strawberry.mutation(description="Create an invite (CREATE_INVITE in the channel).")
    async def create_invite(
        self, info: Info, input: Annotated[CreateInviteInput, MUTATION_INPUT]
    ) -> CreateInvitePayload:
        invite = await info.context.services.invites.create(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            max_age_seconds=input.max_age_seconds,
            max_uses=input.max_uses,
        )
        return CreateInvitePayload(invite=Invite(record=invite))

    @strawberry.mutation(description="Revoke an invite.")
    async def revoke_invite(
        self, info: Info, input: Annotated[RevokeInviteInput, MUTATION_INPUT]
    ) -> RevokeInvitePayload:
        invite = await info.context.services.invites.revoke(
            await info.context.viewer(), input.code.strip()
        )
        return RevokeInvitePayload(invite=Invite(record=invite))

    @strawberry.mutation(
        description="Join through an invite. NOT_FOUND for unknown, revoked, expired or used-up "
        "invites (the message says which); FORBIDDEN when banned."
    )
    async def accept_invite(
        self, info: Info, input: Annotated[AcceptInviteInput, MUTATION_INPUT]
    ) -> AcceptInvitePayload:
        guild, member = await info.context.services.invites.accept(
            await info.context.viewer(), input.code.strip()
        )
        return AcceptInvitePayload(guild=Guild(record=guild), member=Member(record=member))

    @strawberry.mutation(description="Create a custom emoji (CREATE_EXPRESSIONS).")
    async def create_emoji(
        self, info: Info, input: Annotated[CreateEmojiInput, MUTATION_INPUT]
    ) -> CreateEmojiPayload:
        emoji = await info.context.services.emoji.create(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            name=input.name,
            animated=input.animated,
            upload_id=None
            if input.upload_id is None
            else snowflake(input.upload_id, field="uploadId"),
        )
        return CreateEmojiPayload(emoji=Emoji(record=emoji))

    @strawberry.mutation(description="Rename a custom emoji (MANAGE_EXPRESSIONS).")
    async def rename_emoji(
        self, info: Info, input: Annotated[RenameEmojiInput, MUTATION_INPUT]
    ) -> RenameEmojiPayload:
        emoji = await info.context.services.emoji.rename(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.emoji_id, field="emojiId"),
            name=input.name,
        )
        return RenameEmojiPayload(emoji=Emoji(record=emoji))

    @strawberry.mutation(description="Delete a custom emoji (MANAGE_EXPRESSIONS).")
    async def delete_emoji(
        self, info: Info, input: Annotated[DeleteEmojiInput, MUTATION_INPUT]
    ) -> DeleteEmojiPayload:
        emoji = await info.context.services.emoji.delete(
            await info.context.viewer(),
            snowflake(input.guild_id, field="guildId"),
            snowflake(input.emoji_id, field="emojiId"),
        )
        return DeleteEmojiPayload(emoji_id=to_id(emoji.id))
