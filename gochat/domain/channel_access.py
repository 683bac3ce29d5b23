"""What a viewer may do in a message channel, whether a guild text channel, a thread or a DM.

Guild channels resolve through the guild's permission rule; DM and group DM participants hold a
fixed set (no one manages others' messages there), and a 1:1 DM between users where either
blocked the other allows reading but not sending or reacting. Anyone else gets NotFound, the
same as for a channel that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from gochat.domain.guild_access import GuildAccess, GuildView
from gochat.domain.permissions import NONE, Permission
from gochat.domain.records import Channel, ChannelType, DirectChannel, Viewer
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import DirectStore

DM_PERMISSIONS = (
    Permission.VIEW_CHANNELS
    | Permission.SEND_MESSAGES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.ATTACH_FILES
)


def thread_permissions(parent: Permission, thread: Channel) -> Permission:
    """What the parent's permissions allow in one of its threads: sending there takes
    SEND_MESSAGES_IN_THREADS (it stands for SEND_MESSAGES), and a locked thread takes
    MANAGE_THREADS as well."""
    mask = parent & ~Permission.SEND_MESSAGES
    if parent & Permission.SEND_MESSAGES_IN_THREADS and (
        not thread.locked or parent & Permission.MANAGE_THREADS
    ):
        mask |= Permission.SEND_MESSAGES
    return Permission(mask)


@dataclass(frozen=True, slots=True)
class ChannelAccess:
    channel_id: Snowflake
    guild_id: Snowflake | None
    permissions: Permission
    guild_view: GuildView | None = None
    guild_channel: Channel | None = None
    direct: DirectChannel | None = None

    def has(self, permission: Permission) -> bool:
        return self.permissions & permission == permission

    def require(self, permission: Permission, what: str) -> None:
        if not self.has(permission):
            names = " and ".join(p.name or "" for p in Permission if permission & p)
            raise Forbidden(f"you need {names} in this channel to {what}")

    @property
    def mention_role_ids(self) -> list[Snowflake]:
        """The roles whose mentions reach the viewer here (the guild id stands for @everyone)."""
        if self.guild_view is None:
            return []
        return [*self.guild_view.member.role_ids, self.guild_view.guild.id]


class ChannelAccessResolver:
    def __init__(self, guilds: GuildAccess, direct: DirectStore) -> None:
        self._guilds = guilds
        self._direct = direct

    async def message_channel(self, viewer: Viewer, channel_id: Snowflake) -> ChannelAccess:
        """A channel that holds messages and that the viewer can see; NotFound otherwise."""
        try:
            view, channel = await self._guilds.view_channel(viewer, channel_id)
        except NotFound:
            return await self._direct_access(viewer, channel_id)
        if channel.type not in (ChannelType.TEXT, ChannelType.THREAD):
            raise BadUserInput("messages live in text channels and threads", field="channelId")
        permissions = view.permissions_in(channel)
        if channel.is_thread:
            permissions = thread_permissions(permissions, channel)
        return ChannelAccess(
            channel_id=channel.id,
            guild_id=channel.guild_id,
            permissions=permissions,
            guild_view=view,
            guild_channel=channel,
        )

    async def _direct_access(self, viewer: Viewer, channel_id: Snowflake) -> ChannelAccess:
        direct = await self._direct.get_channel(channel_id)
        if direct is None or viewer.user_id not in direct.recipient_ids:
            raise NotFound("channel not found")
        permissions = DM_PERMISSIONS
        if direct.type == ChannelType.DM:
            others = [u for u in direct.recipient_ids if u != viewer.user_id]
            if others and await self._direct.relationship(viewer.user_id, others[0]) & {
                "blocked",
                "blocked_by",
            }:
                permissions = Permission(
                    permissions & ~(Permission.SEND_MESSAGES | Permission.ADD_REACTIONS)
                )
        return ChannelAccess(
            channel_id=channel_id, guild_id=None, permissions=permissions or NONE, direct=direct
        )
