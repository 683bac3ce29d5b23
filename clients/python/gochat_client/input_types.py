from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import (
    ChannelType,
    OverwriteTarget,
    Permission,
    PresenceStatus,
    SearchHas,
    SearchSort,
    UploadPurpose,
)


class AcceptFriendRequestInput(BaseModel):
    """Accept the pending friend request from this user."""

    user_id: str = Field(alias="userId")
    "The other user."


class AcceptInviteInput(BaseModel):
    """Join a guild through an invite."""

    code: str
    "The invite code."


class AckMessageInput(BaseModel):
    """Mark a channel read up to a message; the marker never moves back."""

    channel_id: str = Field(alias="channelId")
    "The channel (guild channel or DM)."
    message_id: str = Field(alias="messageId")
    "The newest message you have read; an older one leaves the marker where it is."


class AddGroupRecipientInput(BaseModel):
    """Add someone to your group DM (the owner only)."""

    channel_id: str = Field(alias="channelId")
    "The group DM."
    user_id: str = Field(alias="userId")
    "The user to add or remove."


class AddReactionInput(BaseModel):
    """React to a message (ADD_REACTIONS)."""

    message_id: str = Field(alias="messageId")
    "The message."
    emoji: "EmojiInput"
    "The emoji to react with."


class AssignRoleInput(BaseModel):
    """Give a member a role below your highest (MANAGE_ROLES)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "The member."
    role_id: str = Field(alias="roleId")
    "A role below your highest."


class BanMemberInput(BaseModel):
    """Ban a user (BAN_MEMBERS): removed now, cannot rejoin by invite."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "The user to ban (a member or not)."
    reason: Optional[str] = None
    "At most 512 characters."
    delete_message_seconds: int = Field(alias="deleteMessageSeconds", default=0)
    "Also remove the user's messages in this guild from this many seconds before the ban: 0 (keep them, the default) to 604800 (7 days). The removal runs in the background and ends in MessagesDeleted events."


class BlockUserInput(BaseModel):
    """Block this user."""

    user_id: str = Field(alias="userId")
    "The other user."


class BulkDeleteMessagesInput(BaseModel):
    """Delete up to 100 messages of one channel (MANAGE_MESSAGES)."""

    channel_id: str = Field(alias="channelId")
    "The channel."
    message_ids: list[str] = Field(alias="messageIds")
    "1-100 message ids of that channel."


class CancelFriendRequestInput(BaseModel):
    """Withdraw the friend request you sent to this user."""

    user_id: str = Field(alias="userId")
    "The other user."


class ChangePasswordInput(BaseModel):
    """Change the password; every other session is ended."""

    current_password: str = Field(alias="currentPassword")
    "The password in use now."
    new_password: str = Field(alias="newPassword")
    "8-256 characters."


class ChannelPlacementInput(BaseModel):
    """Where one channel goes."""

    channel_id: str = Field(alias="channelId")
    "A channel of the guild."
    position: int
    "From 0, within the parent."
    parent_id: Optional[str] = Field(alias="parentId", default=None)
    "Null: top level."


class ConfirmEmailChangeInput(BaseModel):
    """Apply an email change with the token mailed to the new address."""

    token: str
    "The token from the mail (single use)."


class ConfirmEmailInput(BaseModel):
    """Confirm an email address with the token from the mail."""

    token: str
    "Token from the confirmation mail."


class CreateChannelInput(BaseModel):
    """Create a channel (MANAGE_CHANNELS)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    type_: ChannelType = Field(alias="type")
    "TEXT, VOICE or CATEGORY."
    name: str
    "Text channels: 1-100 lower-case letters, digits, - or _ (spaces become -); others: 1-100 characters."
    topic: Optional[str] = None
    "At most 1024 characters; null: none."
    parent_id: Optional[str] = Field(alias="parentId", default=None)
    "A category; the new channel copies its overwrites (synced)."
    private: bool = False
    "Hide the channel from @everyone; roles or members then need an overwrite allowing VIEW_CHANNELS."
    voice_region: Optional[str] = Field(alias="voiceRegion", default=None)
    "Voice channels only."
    rate_limit_per_user: Optional[int] = Field(alias="rateLimitPerUser", default=None)
    "Text channels: slowmode, 0-21600 seconds between one member's messages (0: off); MANAGE_MESSAGES or MANAGE_CHANNELS lift it. Default 0."
    nsfw: Optional[bool] = None
    "Text channels: for adults only. Default false."
    default_auto_archive_minutes: Optional[int] = Field(
        alias="defaultAutoArchiveMinutes", default=None
    )
    "Text channels: auto-archive of threads started without one: 60, 1440, 4320 or 10080 minutes. Default 1440."
    user_limit: Optional[int] = Field(alias="userLimit", default=None)
    "Voice channels only: most members in voice at once, 0-99; 0 or null: none."


class CreateEmojiInput(BaseModel):
    """Create a custom emoji (CREATE_EXPRESSIONS)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    name: str
    "2-32 letters, digits or '_', unique in the guild."
    animated: bool = False
    "Ignored with an image: read from the image instead."
    upload_id: Optional[str] = Field(alias="uploadId", default=None)
    "An EMOJI upload of yours for this guild (PNG, JPEG, GIF or WebP, at most GOCHAT_EMOJI_MAX_BYTES): the emoji's image."


class CreateGroupDirectMessageInput(BaseModel):
    """Create a group DM; you own it. 2-10 people including you."""

    user_ids: list[str] = Field(alias="userIds")
    "The other people: 1-9 user ids."
    name: Optional[str] = None
    "The group's name, at most 100 characters; null: none."


class CreateGuildInput(BaseModel):
    """Create a guild; you become its owner."""

    name: str
    "2-100 characters."


class CreateInviteInput(BaseModel):
    """Create an invite to a channel (CREATE_INVITE there)."""

    channel_id: str = Field(alias="channelId")
    "The channel the invite leads to."
    max_age_seconds: Optional[int] = Field(alias="maxAgeSeconds", default=None)
    "0 never expires; default 7 days; at most 30 days."
    max_uses: int = Field(alias="maxUses", default=0)
    "0 unlimited; at most 1000."


class CreateRoleInput(BaseModel):
    """Create a role just above @everyone (MANAGE_ROLES)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    name: str
    "1-100 characters."
    color: int = 0
    "RGB color, 0-16777215; 0: no color."
    permissions: list[Permission] = Field(default_factory=lambda: [])
    "What the role grants; only permissions you have yourself."
    hoist: bool = False
    "Show its members separately in member lists."
    mentionable: bool = False
    "Let anyone mention the role."


class CreateThreadInput(BaseModel):
    """Start a thread in a text channel (CREATE_THREADS there), on its own or from one of the channel's messages; a THREAD_CREATED notice is posted in the channel."""

    channel_id: str = Field(alias="channelId")
    "The parent text channel."
    name: str
    "1-100 characters."
    from_message_id: Optional[str] = Field(alias="fromMessageId", default=None)
    "A message of the channel to start the thread from (one thread per message: CONFLICT for a second); null: a thread of its own."
    auto_archive_minutes: Optional[int] = Field(
        alias="autoArchiveMinutes", default=None
    )
    "60, 1440, 4320 or 10080 minutes without a message before it is archived; null: the channel's defaultAutoArchiveMinutes."


class CreateUploadInput(BaseModel):
    """Ask for a place to upload one file. ATTACHMENT needs channelId (SEND_MESSAGES and ATTACH_FILES there); GUILD_ICON and GUILD_BANNER need guildId and MANAGE_SERVER; EMOJI needs guildId and CREATE_EXPRESSIONS; AVATAR needs neither."""

    purpose: UploadPurpose
    "What the file will be used for."
    channel_id: Optional[str] = Field(alias="channelId", default=None)
    "For ATTACHMENT: the channel of the message."
    guild_id: Optional[str] = Field(alias="guildId", default=None)
    "For GUILD_ICON, GUILD_BANNER and EMOJI: the guild."
    filename: str
    "The file's name, 1-1024 characters; shown sanitized (no path, control or bidirectional characters, at most 255 characters)."
    size: int
    "The exact size in bytes; at most GOCHAT_ATTACHMENT_MAX_BYTES (25 MiB), GOCHAT_AVATAR_MAX_BYTES or GOCHAT_GUILD_IMAGE_MAX_BYTES (8 MiB) or GOCHAT_EMOJI_MAX_BYTES (256 KiB) by purpose."
    content_type: str = Field(alias="contentType")
    "The media type, such as image/png; the server checks it against the bytes. Images for AVATAR, GUILD_ICON, GUILD_BANNER and EMOJI are PNG, JPEG, GIF or WebP."


class DeclineFriendRequestInput(BaseModel):
    """Decline the pending friend request from this user."""

    user_id: str = Field(alias="userId")
    "The other user."


class DeleteAccountInput(BaseModel):
    """Delete the signed-in account for good."""

    password: str
    "The account's current password."


class DeleteChannelInput(BaseModel):
    """Delete a channel (MANAGE_CHANNELS in it)."""

    channel_id: str = Field(alias="channelId")
    "The channel to delete."


class DeleteChannelPermissionOverwriteInput(BaseModel):
    """Remove an overwrite (MANAGE_ROLES in the channel)."""

    channel_id: str = Field(alias="channelId")
    "The channel."
    target_type: OverwriteTarget = Field(alias="targetType")
    "Whether targetId is a role or a member."
    target_id: str = Field(alias="targetId")
    "The role or member whose overwrite goes."


class DeleteEmojiInput(BaseModel):
    """Delete a custom emoji (MANAGE_EXPRESSIONS)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    emoji_id: str = Field(alias="emojiId")
    "The emoji."


class DeleteGuildInput(BaseModel):
    """Delete a guild and everything in it (owner only)."""

    guild_id: str = Field(alias="guildId")
    "The guild to delete."


class DeleteMessageInput(BaseModel):
    """Delete a message: your own, or any with MANAGE_MESSAGES."""

    message_id: str = Field(alias="messageId")
    "The message to delete."


class DeleteRoleInput(BaseModel):
    """Delete a role below your highest (MANAGE_ROLES)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    role_id: str = Field(alias="roleId")
    "The role (not @everyone)."


class DeleteThreadInput(BaseModel):
    """Delete a thread and its messages (MANAGE_THREADS)."""

    thread_id: str = Field(alias="threadId")
    "The thread to delete."


class DisconnectVoiceMemberInput(BaseModel):
    """Drop a member from voice (VOICE_MOVE_MEMBERS in the channel)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "A member who is in voice there."


class EditMessageInput(BaseModel):
    """Change a message: content and embeds of your own, or whether its generated embeds show (yours, or any with MANAGE_MESSAGES). Give at least one field."""

    message_id: str = Field(alias="messageId")
    "The message."
    content: Optional[str] = None
    "The new content: at most 4000 characters after trimming, empty only when the message keeps embeds; its generated embeds are made again."
    embeds: Optional[list["EmbedInput"]] = None
    "Replaces the embeds you sent ([] removes them)."
    suppress_embeds: Optional[bool] = Field(alias="suppressEmbeds", default=None)
    "Hide (true) or show (false) the generated embeds."


class EmbedAuthorInput(BaseModel):
    """Who an embed is by."""

    name: str
    "1-256 characters."
    url: Optional[str] = None
    "An http(s) link on the name."
    icon_url: Optional[str] = Field(alias="iconUrl", default=None)
    "An http(s) image URL."


class EmbedFieldInput(BaseModel):
    """A name and value of an embed's grid."""

    name: str
    "1-256 characters."
    value: str
    "1-1024 characters."
    inline: bool = False
    "Beside its neighbours."


class EmbedFooterInput(BaseModel):
    """The footer line of an embed."""

    text: str
    "1-2048 characters."
    icon_url: Optional[str] = Field(alias="iconUrl", default=None)
    "An http(s) image URL."


class EmbedInput(BaseModel):
    """An embed sent with a message (type RICH). A message has at most 10 embeds with 6,000 characters of text in all (titles, descriptions, field names and values, footer texts, author names)."""

    title: Optional[str] = None
    "At most 256 characters."
    description: Optional[str] = None
    "At most 4096 characters."
    url: Optional[str] = None
    "An http(s) link on the title."
    color: Optional[int] = None
    "0 to 0xFFFFFF (RGB)."
    timestamp: Optional[datetime] = None
    "Shown in the footer."
    author: Optional["EmbedAuthorInput"] = None
    "Who it is by."
    footer: Optional["EmbedFooterInput"] = None
    "The footer."
    image: Optional["EmbedMediaInput"] = None
    "A large image."
    thumbnail: Optional["EmbedMediaInput"] = None
    "A small image beside the text."
    fields: Optional[list["EmbedFieldInput"]] = None
    "At most 25 name/value pairs."


class EmbedMediaInput(BaseModel):
    """An image by its address."""

    url: str
    "An http(s) URL, at most 2048 characters."


class EmojiInput(BaseModel):
    """Exactly one of unicode or customEmojiId."""

    unicode: Optional[str] = None
    "A unicode emoji."
    custom_emoji_id: Optional[str] = Field(alias="customEmojiId", default=None)
    "A custom emoji of the message's guild."


class JoinThreadInput(BaseModel):
    """Join a thread you can see; joining twice changes nothing."""

    thread_id: str = Field(alias="threadId")
    "The thread."


class JoinVoiceInput(BaseModel):
    """Join a voice channel (VOICE_CONNECT, within its user limit)."""

    channel_id: str = Field(alias="channelId")
    "A voice channel you can see."


class KickMemberInput(BaseModel):
    """Remove a member (KICK_MEMBERS; they may rejoin by invite)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "A member ranked below you."
    reason: Optional[str] = None
    "At most 512 characters."


class LeaveGroupDirectMessageInput(BaseModel):
    """Leave a group DM; ownership passes on."""

    channel_id: str = Field(alias="channelId")
    "The group DM to leave."


class LeaveGuildInput(BaseModel):
    """Leave a guild (the owner must transfer it first)."""

    guild_id: str = Field(alias="guildId")
    "The guild to leave."


class LeaveThreadInput(BaseModel):
    """Leave a thread; leaving one you are not in changes nothing."""

    thread_id: str = Field(alias="threadId")
    "The thread."


class LoginInput(BaseModel):
    """Sign in with email and password."""

    email: str
    "The account's email address (case does not matter)."
    password: str
    "The account's password."


class MoveVoiceMemberInput(BaseModel):
    """Move a member in voice to another voice channel (VOICE_MOVE_MEMBERS in both); they must be allowed to connect there. They receive VoiceServerUpdated on `events`."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "A member who is in voice there."
    to_channel_id: str = Field(alias="toChannelId")
    "The target voice channel."


class OpenDirectMessageInput(BaseModel):
    """Get or create the one DM with a user."""

    user_id: str = Field(alias="userId")
    "The other user."


class PinMessageInput(BaseModel):
    """Pin a message (MANAGE_MESSAGES); at most 50 per channel."""

    message_id: str = Field(alias="messageId")
    "The message to pin."


class RefreshSessionInput(BaseModel):
    """Exchange a refresh token for a new token pair."""

    refresh_token: str = Field(alias="refreshToken")
    "The current refresh token of the session (single-use)."


class RegisterInput(BaseModel):
    """Create an account. A confirmation mail is sent to `email`."""

    email: str
    "Email address, at most 254 characters."
    handle: str
    "Unique handle: 2-32 of a-z 0-9 . _ -."
    display_name: str = Field(alias="displayName")
    "Shown name, 1-64 characters."
    password: str
    "8-256 characters."


class RemoveFriendInput(BaseModel):
    """End your friendship with this user."""

    user_id: str = Field(alias="userId")
    "The other user."


class RemoveGroupRecipientInput(BaseModel):
    """Remove someone from your group DM (the owner only)."""

    channel_id: str = Field(alias="channelId")
    "The group DM."
    user_id: str = Field(alias="userId")
    "The user to add or remove."


class RemoveReactionInput(BaseModel):
    """Remove your reaction, or another user's with MANAGE_MESSAGES."""

    message_id: str = Field(alias="messageId")
    "The message."
    emoji: "EmojiInput"
    "The emoji to remove."
    user_id: Optional[str] = Field(alias="userId", default=None)
    "Default: you."


class RemoveRoleInput(BaseModel):
    """Take a role below your highest from a member (MANAGE_ROLES)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "The member."
    role_id: str = Field(alias="roleId")
    "A role below your highest."


class RenameEmojiInput(BaseModel):
    """Rename a custom emoji (MANAGE_EXPRESSIONS)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    emoji_id: str = Field(alias="emojiId")
    "The emoji."
    name: str
    "2-32 letters, digits or '_', unique in the guild."


class ReorderChannelsInput(BaseModel):
    """Move channels at once: all placements apply or none (MANAGE_CHANNELS)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    channels: list["ChannelPlacementInput"]
    "The channels to move and where."


class ReorderRolesInput(BaseModel):
    """Set role positions at once (MANAGE_ROLES)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    roles: list["RolePositionInput"]
    "The roles to move and where."


class ReplaceSettingsInput(BaseModel):
    """Replace the settings document."""

    data: Any
    "A JSON object, at most GOCHAT_SETTINGS_MAX_BYTES."
    expected_version: Optional[int] = Field(alias="expectedVersion", default=None)
    "When given, the replace fails with CONFLICT unless this is the stored version (optimistic concurrency between devices)."


class RequestEmailChangeInput(BaseModel):
    """Ask to move the account to another email address."""

    new_email: str = Field(alias="newEmail")
    "The address to move to; it receives a confirmation link (single use, valid GOCHAT_EMAIL_CONFIRMATION_TTL_SECONDS)."
    password: str
    "The account's current password."


class RequestPasswordResetInput(BaseModel):
    """Ask for a password-reset mail."""

    email: str
    "The account's email address."


class ResetPasswordInput(BaseModel):
    """Set a new password with the token from the reset mail."""

    token: str
    "The token from the reset mail (single-use)."
    new_password: str = Field(alias="newPassword")
    "8-256 characters."


class RevokeInviteInput(BaseModel):
    """Revoke an invite (its creator, or MANAGE_SERVER)."""

    code: str
    "The invite code."


class RolePositionInput(BaseModel):
    """A role's new position."""

    role_id: str = Field(alias="roleId")
    "A role below your highest (not @everyone)."
    position: int
    "From 1; must stay below your highest role."


class SearchMessagesInput(BaseModel):
    """What to search: exactly one of guildId, channelId and directOnly, then the query and filters (all must hold)."""

    guild_id: Optional[str] = Field(alias="guildId", default=None)
    "Search a guild you are in: its text channels where you have VIEW_CHANNELS and READ_MESSAGE_HISTORY."
    channel_id: Optional[str] = Field(alias="channelId", default=None)
    "Search one text channel (READ_MESSAGE_HISTORY) or one DM you are in."
    direct_only: bool = Field(alias="directOnly", default=False)
    "Search your DMs and group DMs."
    query: str = ""
    'Words (all must occur; case and accents do not matter; CJK text is found inside longer runs), "quoted phrases", prefix*, from:handle, mentions:handle, has:image (link, attachment, image, video, audio, file, embed), in:channel (name or <#id>), before:YYYY-MM-DD, after:YYYY-MM-DD (UTC days, or ISO 8601 instants) and pinned:true. Other key:value words are plain text. At most 512 characters and 16 words or phrases.'
    author_ids: Optional[list[str]] = Field(alias="authorIds", default=None)
    "Sent by any of these users (added to from:)."
    mentions: Optional[list[str]] = None
    "Mentioning any of these users (added to mentions:)."
    has: Optional[list[SearchHas]] = None
    "Holding all of these (added to has:)."
    before: Optional[datetime] = None
    "Sent before this instant."
    after: Optional[datetime] = None
    "Sent after this instant."
    pinned: Optional[bool] = None
    "true: pinned messages only; false: unpinned only."
    sort: SearchSort = SearchSort.NEWEST
    "Newest first (default) or best match first."


class SendFriendRequestInput(BaseModel):
    """Ask someone to be friends, by handle. If they already asked you, this accepts."""

    handle: str
    "The other user's handle."


class SendMessageInput(BaseModel):
    """Send a message to a text channel (SEND_MESSAGES)."""

    channel_id: str = Field(alias="channelId")
    "A text channel or a DM you are in."
    content: str = ""
    "At most 4000 characters after trimming; empty only with attachments or embeds."
    nonce: Optional[str] = None
    "1-64 characters chosen by the client: a retry with the same nonce within 10 minutes returns the first message instead of sending another."
    reply_to: Optional[str] = Field(alias="replyTo", default=None)
    "A message of the same channel to reply to."
    attachments: Optional[list[str]] = None
    "Up to 10 ATTACHMENT upload ids of yours for this channel, each filled and unused (ATTACH_FILES); each is checked and becomes an attachment of this message."
    embeds: Optional[list["EmbedInput"]] = None
    "Up to 10 embeds (type RICH) with 6,000 characters of text in all; links in the content get generated embeds besides."


class ServerDeafenMemberInput(BaseModel):
    """Server-deafen a member in voice (VOICE_DEAFEN_MEMBERS in the channel)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "A member who is in voice there."
    deafen: bool = True
    "false lifts the deafen."


class ServerMuteMemberInput(BaseModel):
    """Server-mute a member in voice (VOICE_MUTE_MEMBERS in the channel)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "A member who is in voice there."
    mute: bool = True
    "false lifts the mute."


class SetChannelPermissionOverwriteInput(BaseModel):
    """Create or replace an overwrite (MANAGE_ROLES in the channel)."""

    channel_id: str = Field(alias="channelId")
    "The channel."
    target_type: OverwriteTarget = Field(alias="targetType")
    "Whether targetId is a role or a member."
    target_id: str = Field(alias="targetId")
    "A role of the guild or a member's user id."
    allow: list[Permission] = Field(default_factory=lambda: [])
    "Permissions to grant in the channel."
    deny: list[Permission] = Field(default_factory=lambda: [])
    "Permissions to take away in the channel."


class SetNicknameInput(BaseModel):
    """Set or clear (null) a nickname: your own with CHANGE_NICKNAME, another's with MANAGE_NICKNAMES."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "The member (yourself or another)."
    nickname: Optional[str] = None
    "1-32 characters; null or blank clears it."


class SetPresenceInput(BaseModel):
    """What your connections show others."""

    status: PresenceStatus
    "ONLINE, IDLE, DND or INVISIBLE (shown to others as OFFLINE)."
    custom_status: Optional[str] = Field(alias="customStatus", default=None)
    "Up to 128 characters; blank or null clears it."


class SetSystemChannelInput(BaseModel):
    """Set or clear (null) the system-messages channel (MANAGE_SERVER)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    channel_id: Optional[str] = Field(alias="channelId", default=None)
    "A text channel of the guild; null clears it."


class StartTypingInput(BaseModel):
    """Show the channel's viewers that you are typing."""

    channel_id: str = Field(alias="channelId")
    "A text channel where you may send messages, or a DM you are in."


class TimeoutMemberInput(BaseModel):
    """Time a member out until a moment (at most 28 days), or lift it."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "A member ranked below you."
    until: Optional[datetime] = None
    "Null lifts the timeout."
    reason: Optional[str] = None
    "At most 512 characters; recorded in the audit log."


class TransferGuildOwnershipInput(BaseModel):
    """Make another member the owner (owner only)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "The member who becomes the owner."


class UnbanMemberInput(BaseModel):
    """Lift a ban (BAN_MEMBERS)."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    user_id: str = Field(alias="userId")
    "The banned user."


class UnblockUserInput(BaseModel):
    """Unblock this user."""

    user_id: str = Field(alias="userId")
    "The other user."


class UnpinMessageInput(BaseModel):
    """Unpin a message (MANAGE_MESSAGES)."""

    message_id: str = Field(alias="messageId")
    "The message to unpin."


class UpdateChannelInput(BaseModel):
    """Change a channel (MANAGE_CHANNELS in it). Omitted fields stay."""

    channel_id: str = Field(alias="channelId")
    "The channel."
    name: Optional[str] = None
    "New name (same rules as at creation); omitted: unchanged."
    topic: Optional[str] = None
    "New topic, at most 1024 characters; omitted: unchanged."
    parent_id: Optional[str] = Field(alias="parentId", default=None)
    "Move into a category."
    remove_from_parent: bool = Field(alias="removeFromParent", default=False)
    "Move out of its category."
    private: Optional[bool] = None
    "New privacy; omitted: unchanged."
    voice_region: Optional[str] = Field(alias="voiceRegion", default=None)
    "Voice channels only: new region; omitted: unchanged. Members in voice move to a voice server of the new region (each receives VoiceServerUpdated)."
    user_limit: Optional[int] = Field(alias="userLimit", default=None)
    "Voice channels only: new user limit, 0 (none) to 99; omitted: unchanged."
    sync_with_parent: bool = Field(alias="syncWithParent", default=False)
    "Replace this channel's overwrites with its category's."
    rate_limit_per_user: Optional[int] = Field(alias="rateLimitPerUser", default=None)
    "Text channels: slowmode, 0-21600 seconds between one member's messages (0: off); MANAGE_MESSAGES or MANAGE_CHANNELS lift it. Omitted: unchanged."
    nsfw: Optional[bool] = None
    "Text channels: for adults only. Omitted: unchanged."
    default_auto_archive_minutes: Optional[int] = Field(
        alias="defaultAutoArchiveMinutes", default=None
    )
    "Text channels: auto-archive of threads started without one: 60, 1440, 4320 or 10080 minutes. Omitted: unchanged."


class UpdateGuildInput(BaseModel):
    """Change guild settings (MANAGE_SERVER). Omitted fields stay."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    name: Optional[str] = None
    "New name, 2-100 characters; omitted: unchanged."
    icon_upload_id: Optional[str] = Field(alias="iconUploadId", default=None)
    "A GUILD_ICON upload of yours for this guild to become its icon (MANAGE_SERVER)."
    banner_upload_id: Optional[str] = Field(alias="bannerUploadId", default=None)
    "A GUILD_BANNER upload of yours for this guild to become its banner (MANAGE_SERVER)."


class UpdateProfileInput(BaseModel):
    """Change the public profile."""

    display_name: Optional[str] = Field(alias="displayName", default=None)
    "Shown name, 1-64 characters; unchanged when omitted."
    avatar_upload_id: Optional[str] = Field(alias="avatarUploadId", default=None)
    "An AVATAR upload of yours (PNG, JPEG, GIF or WebP, at most GOCHAT_AVATAR_MAX_BYTES) to become your avatar; unchanged when omitted."


class UpdateRoleInput(BaseModel):
    """Change a role below your highest (MANAGE_ROLES). Omitted fields stay."""

    guild_id: str = Field(alias="guildId")
    "The guild."
    role_id: str = Field(alias="roleId")
    "The role (the guild id for @everyone)."
    name: Optional[str] = None
    "New name, 1-100 characters; omitted: unchanged."
    color: Optional[int] = None
    "New RGB color, 0-16777215; omitted: unchanged."
    permissions: Optional[list[Permission]] = None
    "New permissions (only ones you have); omitted: unchanged."
    hoist: Optional[bool] = None
    "Omitted: unchanged."
    mentionable: Optional[bool] = None
    "Omitted: unchanged."


class UpdateThreadInput(BaseModel):
    """Change a thread: MANAGE_THREADS, or its creator while it is not locked. Omitted fields stay."""

    thread_id: str = Field(alias="threadId")
    "The thread."
    name: Optional[str] = None
    "New name, 1-100 characters."
    archived: Optional[bool] = None
    "Archive (true) or reopen (false) the thread."
    locked: Optional[bool] = None
    "Lock (true): only MANAGE_THREADS may then send, reopen or change it; unlock (false)."
    auto_archive_minutes: Optional[int] = Field(
        alias="autoArchiveMinutes", default=None
    )
    "60, 1440, 4320 or 10080 minutes without a message before it is archived."


class UpdateVoiceStateInput(BaseModel):
    """Your own mute and deafen; omitted fields stay."""

    self_mute: Optional[bool] = Field(alias="selfMute", default=None)
    "Mute your microphone."
    self_deaf: Optional[bool] = Field(alias="selfDeaf", default=None)
    "Turn your sound off."


AddReactionInput.model_rebuild()
EditMessageInput.model_rebuild()
EmbedInput.model_rebuild()
RemoveReactionInput.model_rebuild()
ReorderChannelsInput.model_rebuild()
ReorderRolesInput.model_rebuild()
SendMessageInput.model_rebuild()
