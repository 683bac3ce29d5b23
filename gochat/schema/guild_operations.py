"""Inputs and payloads of the guild-area mutations (guilds, channels, roles, overwrites,
members, moderation, invites, emoji)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gochat.schema.channels import Channel, ChannelType, OverwriteTarget, PermissionOverwrite
from gochat.schema.common import PermissionName
from gochat.schema.guilds import Ban, Emoji, Guild, Member, Role
from gochat.schema.invites import Invite

PermissionList = list[PermissionName]  # type: ignore[valid-type]


@strawberry.input(description="Create a guild; you become its owner.")
class CreateGuildInput:
    name: str = strawberry.field(description="2-100 characters.")


@strawberry.type(description="The new guild.")
class CreateGuildPayload:
    guild: Guild = strawberry.field(
        description="The guild, with its default channels and @everyone role."
    )


@strawberry.input(description="Change guild settings (MANAGE_SERVER). Omitted fields stay.")
class UpdateGuildInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    name: str | None = strawberry.field(
        default=None, description="New name, 2-100 characters; omitted: unchanged."
    )
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


@strawberry.type(description="The changed guild.")
class UpdateGuildPayload:
    guild: Guild = strawberry.field(description="The guild as it is now.")


@strawberry.input(description="Delete a guild and everything in it (owner only).")
class DeleteGuildInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild to delete.")


@strawberry.type(description="The deleted guild.")
class DeleteGuildPayload:
    guild_id: strawberry.ID = strawberry.field(description="The guild that no longer exists.")


@strawberry.input(description="Make another member the owner (owner only).")
class TransferGuildOwnershipInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="The member who becomes the owner.")


@strawberry.type(description="The guild with its new owner.")
class TransferGuildOwnershipPayload:
    guild: Guild = strawberry.field(description="The guild as it is now.")


@strawberry.input(description="Set or clear (null) the system-messages channel (MANAGE_SERVER).")
class SetSystemChannelInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    channel_id: strawberry.ID | None = strawberry.field(
        default=None, description="A text channel of the guild; null clears it."
    )


@strawberry.type(description="The guild with its system channel.")
class SetSystemChannelPayload:
    guild: Guild = strawberry.field(description="The guild as it is now.")


@strawberry.input(description="Create a channel (MANAGE_CHANNELS).")
class CreateChannelInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    type: ChannelType = strawberry.field(description="TEXT, VOICE or CATEGORY.")
    name: str = strawberry.field(
        description=(
            "Text channels: 1-100 lower-case letters, digits, - or _ (spaces "
            "become -); others: 1-100 characters."
        )
    )
    topic: str | None = strawberry.field(
        default=None, description="At most 1024 characters; null: none."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="A category; the new channel copies its overwrites (synced)."
    )
    private: bool = strawberry.field(
        default=False,
        description=(
            "Hide the channel from @everyone; roles or members then need an "
            "overwrite allowing VIEW_CHANNELS."
        ),
    )
    voice_region: str | None = strawberry.field(default=None, description="Voice channels only.")
    rate_limit_per_user: int | None = strawberry.field(
        default=None,
        description="Text channels: slowmode, 0-21600 seconds between one member's messages "
        "(0: off); MANAGE_MESSAGES or MANAGE_CHANNELS lift it. Default 0.",
    )
    nsfw: bool | None = strawberry.field(
        default=None, description="Text channels: for adults only. Default false."
    )
    default_auto_archive_minutes: int | None = strawberry.field(
        default=None,
        description="Text channels: auto-archive of threads started without one: 60, 1440, "
        "4320 or 10080 minutes. Default 1440.",
    )
    user_limit: int | None = strawberry.field(
        default=None,
        description="Voice channels only: most members in voice at once, 0-99; 0 or null: none.",
    )


@strawberry.type(description="The new channel.")
class CreateChannelPayload:
    channel: Channel = strawberry.field(description="The channel.")


@strawberry.input(description="Change a channel (MANAGE_CHANNELS in it). Omitted fields stay.")
class UpdateChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    name: str | None = strawberry.field(
        default=None, description="New name (same rules as at creation); omitted: unchanged."
    )
    topic: str | None = strawberry.field(
        default=None, description="New topic, at most 1024 characters; omitted: unchanged."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Move into a category."
    )
    remove_from_parent: bool = strawberry.field(
        default=False, description="Move out of its category."
    )
    private: bool | None = strawberry.field(
        default=None, description="New privacy; omitted: unchanged."
    )
    voice_region: str | None = strawberry.field(
        default=None,
        description=(
            "Voice channels only: new region; omitted: unchanged. Members in voice move to a "
            "voice server of the new region (each receives VoiceServerUpdated)."
        ),
    )
    user_limit: int | None = strawberry.field(
        default=None,
        description="Voice channels only: new user limit, 0 (none) to 99; omitted: unchanged.",
    )
    sync_with_parent: bool = strawberry.field(
        default=False, description="Replace this channel's overwrites with its category's."
    )
    rate_limit_per_user: int | None = strawberry.field(
        default=None,
        description="Text channels: slowmode, 0-21600 seconds between one member's messages "
        "(0: off); MANAGE_MESSAGES or MANAGE_CHANNELS lift it. Omitted: unchanged.",
    )
    nsfw: bool | None = strawberry.field(
        default=None, description="Text channels: for adults only. Omitted: unchanged."
    )
    default_auto_archive_minutes: int | None = strawberry.field(
        default=None,
        description="Text channels: auto-archive of threads started without one: 60, 1440, "
        "4320 or 10080 minutes. Omitted: unchanged.",
    )


@strawberry.type(description="The changed channel.")
class UpdateChannelPayload:
    channel: Channel = strawberry.field(description="The channel as it is now.")


@strawberry.input(description="Delete a channel (MANAGE_CHANNELS in it).")
class DeleteChannelInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel to delete.")


@strawberry.type(description="The deleted channel.")
class DeleteChannelPayload:
    channel_id: strawberry.ID = strawberry.field(description="The channel that no longer exists.")


@strawberry.input(description="Where one channel goes.")
class ChannelPlacementInput:
    channel_id: strawberry.ID = strawberry.field(description="A channel of the guild.")
    position: int = strawberry.field(description="From 0, within the parent.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Null: top level.")


@strawberry.input(
    description="Move channels at once: all placements apply or none (MANAGE_CHANNELS)."
)
class ReorderChannelsInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    channels: list[ChannelPlacementInput] = strawberry.field(
        description="The channels to move and where."
    )


@strawberry.type(description="The moved channels.")
class ReorderChannelsPayload:
    channels: list[Channel] = strawberry.field(
        description="The moved channels, with their new positions and parents."
    )


@strawberry.input(description="Create a role just above @everyone (MANAGE_ROLES).")
class CreateRoleInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    name: str = strawberry.field(description="1-100 characters.")
    color: int = strawberry.field(default=0, description="RGB color, 0-16777215; 0: no color.")
    permissions: PermissionList = strawberry.field(
        default_factory=list,
        description="What the role grants; only permissions you have yourself.",
    )
    hoist: bool = strawberry.field(
        default=False, description="Show its members separately in member lists."
    )
    mentionable: bool = strawberry.field(default=False, description="Let anyone mention the role.")


@strawberry.type(description="The new role.")
class CreateRolePayload:
    role: Role = strawberry.field(description="The role.")


@strawberry.input(
    description="Change a role below your highest (MANAGE_ROLES). Omitted fields stay."
)
class UpdateRoleInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    role_id: strawberry.ID = strawberry.field(description="The role (the guild id for @everyone).")
    name: str | None = strawberry.field(
        default=None, description="New name, 1-100 characters; omitted: unchanged."
    )
    color: int | None = strawberry.field(
        default=None, description="New RGB color, 0-16777215; omitted: unchanged."
    )
    permissions: PermissionList | None = strawberry.field(
        default=None, description="New permissions (only ones you have); omitted: unchanged."
    )
    hoist: bool | None = strawberry.field(default=None, description="Omitted: unchanged.")
    mentionable: bool | None = strawberry.field(default=None, description="Omitted: unchanged.")


@strawberry.type(description="The changed role.")
class UpdateRolePayload:
    role: Role = strawberry.field(description="The role as it is now.")


@strawberry.input(description="Delete a role below your highest (MANAGE_ROLES).")
class DeleteRoleInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    role_id: strawberry.ID = strawberry.field(description="The role (not @everyone).")


@strawberry.type(description="The deleted role.")
class DeleteRolePayload:
    role_id: strawberry.ID = strawberry.field(description="The role that no longer exists.")


@strawberry.input(description="A role's new position.")
class RolePositionInput:
    role_id: strawberry.ID = strawberry.field(
        description="A role below your highest (not @everyone)."
    )
    position: int = strawberry.field(description="From 1; must stay below your highest role.")


@strawberry.input(description="Set role positions at once (MANAGE_ROLES).")
class ReorderRolesInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    roles: list[RolePositionInput] = strawberry.field(description="The roles to move and where.")


@strawberry.type(description="The guild's roles after the move.")
class ReorderRolesPayload:
    roles: list[Role] = strawberry.field(description="The roles with their new positions.")


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
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    target_type: OverwriteTarget = strawberry.field(
        description="Whether targetId is a role or a member."
    )
    target_id: strawberry.ID = strawberry.field(
        description="A role of the guild or a member's user id."
    )
    allow: PermissionList = strawberry.field(
        default_factory=list, description="Permissions to grant in the channel."
    )
    deny: PermissionList = strawberry.field(
        default_factory=list, description="Permissions to take away in the channel."
    )


@strawberry.type(description="The overwrite as set.")
class SetChannelPermissionOverwritePayload:
    overwrite: PermissionOverwrite = strawberry.field(description="The overwrite.")


@strawberry.input(description="Remove an overwrite (MANAGE_ROLES in the channel).")
class DeleteChannelPermissionOverwriteInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")
    target_type: OverwriteTarget = strawberry.field(
        description="Whether targetId is a role or a member."
    )
    target_id: strawberry.ID = strawberry.field(
        description="The role or member whose overwrite goes."
    )


@strawberry.type(description="The channel whose overwrite is gone.")
class DeleteChannelPermissionOverwritePayload:
    channel_id: strawberry.ID = strawberry.field(description="The channel.")


@strawberry.input(
    description="Set or clear (null) a nickname: your own with CHANGE_NICKNAME, another's with "
    "MANAGE_NICKNAMES."
)
class SetNicknameInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="The member (yourself or another).")
    nickname: str | None = strawberry.field(
        default=None, description="1-32 characters; null or blank clears it."
    )


@strawberry.type(description="The member with the new nickname.")
class SetNicknamePayload:
    member: Member = strawberry.field(description="The member as it is now.")


@strawberry.input(description="Leave a guild (the owner must transfer it first).")
class LeaveGuildInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild to leave.")


@strawberry.type(description="The guild you left.")
class LeaveGuildPayload:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")


@strawberry.input(description="Remove a member (KICK_MEMBERS; they may rejoin by invite).")
class KickMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="A member ranked below you.")
    reason: str | None = strawberry.field(default=None, description="At most 512 characters.")


@strawberry.type(description="The removed member.")
class KickMemberPayload:
    user_id: strawberry.ID = strawberry.field(description="The user who is no longer a member.")


@strawberry.input(description="Ban a user (BAN_MEMBERS): removed now, cannot rejoin by invite.")
class BanMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="The user to ban (a member or not).")
    reason: str | None = strawberry.field(default=None, description="At most 512 characters.")
    delete_message_seconds: int = strawberry.field(
        default=0,
        description="Also remove the user's messages in this guild from this many seconds "
        "before the ban: 0 (keep them, the default) to 604800 (7 days). The removal runs in "
        "the background and ends in MessagesDeleted events.",
    )


@strawberry.type(description="The ban.")
class BanMemberPayload:
    ban: Ban = strawberry.field(description="The new ban.")


@strawberry.input(description="Lift a ban (BAN_MEMBERS).")
class UnbanMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="The banned user.")


@strawberry.type(description="The user who is no longer banned.")
class UnbanMemberPayload:
    user_id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.input(description="Time a member out until a moment (at most 28 days), or lift it.")
class TimeoutMemberInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    user_id: strawberry.ID = strawberry.field(description="A member ranked below you.")
    until: datetime | None = strawberry.field(default=None, description="Null lifts the timeout.")
    reason: str | None = strawberry.field(
        default=None, description="At most 512 characters; recorded in the audit log."
    )


@strawberry.type(description="The member with the timeout.")
class TimeoutMemberPayload:
    member: Member = strawberry.field(description="The member as it is now.")


@strawberry.input(description="Create an invite to a channel (CREATE_INVITE there).")
class CreateInviteInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel the invite leads to.")
    max_age_seconds: int | None = strawberry.field(
        default=None, description="0 never expires; default 7 days; at most 30 days."
    )
    max_uses: int = strawberry.field(default=0, description="0 unlimited; at most 1000.")


@strawberry.type(description="The new invite.")
class CreateInvitePayload:
    invite: Invite = strawberry.field(description="The invite; share its code.")


@strawberry.input(description="Revoke an invite (its creator, or MANAGE_SERVER).")
class RevokeInviteInput:
    code: str = strawberry.field(description="The invite code.")


@strawberry.type(description="The revoked invite.")
class RevokeInvitePayload:
    invite: Invite = strawberry.field(description="The invite, with revoked true.")


@strawberry.input(description="Join a guild through an invite.")
class AcceptInviteInput:
    code: str = strawberry.field(description="The invite code.")


@strawberry.type(description="The guild you joined.")
class AcceptInvitePayload:
    guild: Guild = strawberry.field(description="The guild.")
    member: Member = strawberry.field(description="Your membership.")


@strawberry.input(description="Create a custom emoji (CREATE_EXPRESSIONS).")
class CreateEmojiInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    name: str = strawberry.field(description="2-32 letters, digits or '_', unique in the guild.")
    animated: bool = strawberry.field(
        default=False, description="Ignored with an image: read from the image instead."
    )
    upload_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An EMOJI upload of yours for this guild (PNG, JPEG, GIF or WebP, at most "
        "GOCHAT_EMOJI_MAX_BYTES): the emoji's image.",
    )


@strawberry.type(description="The new emoji.")
class CreateEmojiPayload:
    emoji: Emoji = strawberry.field(description="The emoji.")


@strawberry.input(description="Rename a custom emoji (MANAGE_EXPRESSIONS).")
class RenameEmojiInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    emoji_id: strawberry.ID = strawberry.field(description="The emoji.")
    name: str = strawberry.field(description="2-32 letters, digits or '_', unique in the guild.")


@strawberry.type(description="The renamed emoji.")
class RenameEmojiPayload:
    emoji: Emoji = strawberry.field(description="The emoji as it is now.")


@strawberry.input(description="Delete a custom emoji (MANAGE_EXPRESSIONS).")
class DeleteEmojiInput:
    guild_id: strawberry.ID = strawberry.field(description="The guild.")
    emoji_id: strawberry.ID = strawberry.field(description="The emoji.")


@strawberry.type(description="The deleted emoji.")
class DeleteEmojiPayload:
    emoji_id: strawberry.ID = strawberry.field(description="The emoji that no longer exists.")
