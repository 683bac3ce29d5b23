"""Inputs and payloads of the guild-area mutations (guilds, channels, roles, overwrites,
members, moderation, invites, emoji)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gochat.schema.common import PermissionName
from gochat.schema.guilds import (
    Ban,
    Channel,
    ChannelType,
    Emoji,
    Guild,
    Invite,
    Member,
    OverwriteTarget,
    PermissionOverwrite,
    Role,
)

PermissionList = list[PermissionName]  # type: ignore[valid-type]


@strawberry.input(description="Create a guild; you become its owner.")
class CreateGuildInput:
    name: str = strawberry.field(description="2-100 characters.")


@strawberry.type
class CreateGuildPayload:
    guild: Guild


@strawberry.input(description="Change guild settings (MANAGE_SERVER). Omitted fields stay.")
class UpdateGuildInput:
    guild_id: strawberry.ID
    name: str | None = None
    icon_upload_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A GUILD_ICON upload of yours for this guild to become its icon "
        "(MANAGE_SERVER).",
    )
    banner_upload_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A GUILD_BANNER upload of yours for this guild to become its banner "
        "(MANAGE_SERVER).",
    )


@strawberry.type
class UpdateGuildPayload:
    guild: Guild


@strawberry.input(description="Delete a guild and everything in it (owner only).")
class DeleteGuildInput:
    guild_id: strawberry.ID


@strawberry.type
class DeleteGuildPayload:
    guild_id: strawberry.ID


@strawberry.input(description="Make another member the owner (owner only).")
class TransferGuildOwnershipInput:
    guild_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class TransferGuildOwnershipPayload:
    guild: Guild


@strawberry.input(description="Set or clear (null) the system-messages channel (MANAGE_SERVER).")
class SetSystemChannelInput:
    guild_id: strawberry.ID
    channel_id: strawberry.ID | None = None


@strawberry.type
class SetSystemChannelPayload:
    guild: Guild


@strawberry.input(description="Create a channel (MANAGE_CHANNELS).")
class CreateChannelInput:
    guild_id: strawberry.ID
    type: ChannelType = strawberry.field(description="TEXT, VOICE or CATEGORY.")
    name: str
    topic: str | None = None
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="A category; the new channel copies its overwrites (synced)."
    )
    private: bool = False
    voice_region: str | None = strawberry.field(default=None, description="Voice channels only.")


@strawberry.type
class CreateChannelPayload:
    channel: Channel


@strawberry.input(description="Change a channel (MANAGE_CHANNELS in it). Omitted fields stay.")
class UpdateChannelInput:
    channel_id: strawberry.ID
    name: str | None = None
    topic: str | None = None
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Move into a category."
    )
    remove_from_parent: bool = strawberry.field(
        default=False, description="Move out of its category."
    )
    private: bool | None = None
    voice_region: str | None = None
    sync_with_parent: bool = strawberry.field(
        default=False, description="Replace this channel's overwrites with its category's."
    )


@strawberry.type
class UpdateChannelPayload:
    channel: Channel


@strawberry.input(description="Delete a channel (MANAGE_CHANNELS in it).")
class DeleteChannelInput:
    channel_id: strawberry.ID


@strawberry.type
class DeleteChannelPayload:
    channel_id: strawberry.ID


@strawberry.input(description="Where one channel goes.")
class ChannelPlacementInput:
    channel_id: strawberry.ID
    position: int = strawberry.field(description="From 0, within the parent.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Null: top level.")


@strawberry.input(
    description="Move channels at once: all placements apply or none (MANAGE_CHANNELS)."
)
class ReorderChannelsInput:
    guild_id: strawberry.ID
    channels: list[ChannelPlacementInput]


@strawberry.type
class ReorderChannelsPayload:
    channels: list[Channel]


@strawberry.input(description="Create a role just above @everyone (MANAGE_ROLES).")
class CreateRoleInput:
    guild_id: strawberry.ID
    name: str
    color: int = 0
    permissions: PermissionList = strawberry.field(default_factory=list)
    hoist: bool = False
    mentionable: bool = False


@strawberry.type
class CreateRolePayload:
    role: Role


@strawberry.input(
    description="Change a role below your highest (MANAGE_ROLES). Omitted fields stay."
)
class UpdateRoleInput:
    guild_id: strawberry.ID
    role_id: strawberry.ID
    name: str | None = None
    color: int | None = None
    permissions: PermissionList | None = None
    hoist: bool | None = None
    mentionable: bool | None = None


@strawberry.type
class UpdateRolePayload:
    role: Role


@strawberry.input(description="Delete a role below your highest (MANAGE_ROLES).")
class DeleteRoleInput:
    guild_id: strawberry.ID
    role_id: strawberry.ID


@strawberry.type
class DeleteRolePayload:
    role_id: strawberry.ID


@strawberry.input(description="A role's new position.")
class RolePositionInput:
    role_id: strawberry.ID
    position: int = strawberry.field(description="From 1; must stay below your highest role.")


@strawberry.input(description="Set role positions at once (MANAGE_ROLES).")
class ReorderRolesInput:
    guild_id: strawberry.ID
    roles: list[RolePositionInput]


@strawberry.type
class ReorderRolesPayload:
    roles: list[Role]


@strawberry.input(description="One member and one role.")
class MemberRoleInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    role_id: strawberry.ID = strawberry.field(description="A role below your highest.")


@strawberry.type(description="The member after the change.")
class MemberRolePayload:
    member: Member = strawberry.field(description="The member, with their roles as they are now.")


@strawberry.input(description="Give a member a role below your highest (MANAGE_ROLES).")
class AssignRoleInput(MemberRoleInput):
    pass


@strawberry.type(description="The member now holds the role.")
class AssignRolePayload(MemberRolePayload):
    pass


@strawberry.input(description="Take a role below your highest from a member (MANAGE_ROLES).")
class RemoveRoleInput(MemberRoleInput):
    pass


@strawberry.type(description="The member no longer holds the role.")
class RemoveRolePayload(MemberRolePayload):
    pass


@strawberry.input(description="Create or replace an overwrite (MANAGE_ROLES in the channel).")
class SetChannelPermissionOverwriteInput:
    channel_id: strawberry.ID
    target_type: OverwriteTarget
    target_id: strawberry.ID
    allow: PermissionList = strawberry.field(default_factory=list)
    deny: PermissionList = strawberry.field(default_factory=list)


@strawberry.type
class SetChannelPermissionOverwritePayload:
    overwrite: PermissionOverwrite


@strawberry.input(description="Remove an overwrite (MANAGE_ROLES in the channel).")
class DeleteChannelPermissionOverwriteInput:
    channel_id: strawberry.ID
    target_type: OverwriteTarget
    target_id: strawberry.ID


@strawberry.type
class DeleteChannelPermissionOverwritePayload:
    channel_id: strawberry.ID


@strawberry.input(
    description="Set or clear (null) a nickname: your own with CHANGE_NICKNAME, another's with "
    "MANAGE_NICKNAMES."
)
class SetNicknameInput:
    guild_id: strawberry.ID
    user_id: strawberry.ID
    nickname: str | None = None


@strawberry.type
class SetNicknamePayload:
    member: Member


@strawberry.input(description="Leave a guild (the owner must transfer it first).")
class LeaveGuildInput:
    guild_id: strawberry.ID


@strawberry.type
class LeaveGuildPayload:
    guild_id: strawberry.ID


@strawberry.input(description="Remove a member (KICK_MEMBERS; they may rejoin by invite).")
class KickMemberInput:
    guild_id: strawberry.ID
    user_id: strawberry.ID
    reason: str | None = strawberry.field(default=None, description="At most 512 characters.")


@strawberry.type
class KickMemberPayload:
    user_id: strawberry.ID


@strawberry.input(description="Ban a user (BAN_MEMBERS): removed now, cannot rejoin by invite.")
class BanMemberInput:
    guild_id: strawberry.ID
    user_id: strawberry.ID
    reason: str | None = strawberry.field(default=None, description="At most 512 characters.")


@strawberry.type
class BanMemberPayload:
    ban: Ban


@strawberry.input(description="Lift a ban (BAN_MEMBERS).")
class UnbanMemberInput:
    guild_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class UnbanMemberPayload:
    user_id: strawberry.ID


@strawberry.input(description="Time a member out until a moment (at most 28 days), or lift it.")
class TimeoutMemberInput:
    guild_id: strawberry.ID
    user_id: strawberry.ID
    until: datetime | None = strawberry.field(default=None, description="Null lifts the timeout.")
    reason: str | None = None


@strawberry.type
class TimeoutMemberPayload:
    member: Member


@strawberry.input(description="Create an invite to a channel (CREATE_INVITE there).")
class CreateInviteInput:
    channel_id: strawberry.ID
    max_age_seconds: int | None = strawberry.field(
        default=None, description="0 never expires; default 7 days; at most 30 days."
    )
    max_uses: int = strawberry.field(default=0, description="0 unlimited; at most 1000.")


@strawberry.type
class CreateInvitePayload:
    invite: Invite


@strawberry.input(description="Revoke an invite (its creator, or MANAGE_SERVER).")
class RevokeInviteInput:
    code: str


@strawberry.type
class RevokeInvitePayload:
    invite: Invite


@strawberry.input(description="Join a guild through an invite.")
class AcceptInviteInput:
    code: str


@strawberry.type
class AcceptInvitePayload:
    guild: Guild
    member: Member


@strawberry.input(description="Create a custom emoji (CREATE_EXPRESSIONS).")
class CreateEmojiInput:
    guild_id: strawberry.ID
    name: str = strawberry.field(description="2-32 letters, digits or '_', unique in the guild.")
    animated: bool = strawberry.field(
        default=False, description="Ignored with an image: read from the image instead."
    )
    upload_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An EMOJI upload of yours for this guild (PNG, JPEG, GIF or WebP, at most "
        "GOCHAT_EMOJI_MAX_BYTES): the emoji's image.",
    )


@strawberry.type
class CreateEmojiPayload:
    emoji: Emoji


@strawberry.input(description="Rename a custom emoji (MANAGE_EXPRESSIONS).")
class RenameEmojiInput:
    guild_id: strawberry.ID
    emoji_id: strawberry.ID
    name: str


@strawberry.type
class RenameEmojiPayload:
    emoji: Emoji


@strawberry.input(description="Delete a custom emoji (MANAGE_EXPRESSIONS).")
class DeleteEmojiInput:
    guild_id: strawberry.ID
    emoji_id: strawberry.ID


@strawberry.type
class DeleteEmojiPayload:
    emoji_id: strawberry.ID
