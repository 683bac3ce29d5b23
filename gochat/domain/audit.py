"""The audit log: every administrative and moderation change, readable with VIEW_AUDIT_LOG.

Entries are written by the store in the same transaction as the change they describe (see
`ChangeKit.audit`); this service only reads them.
"""

from __future__ import annotations

from gochat.domain.changes import ChangeKit
from gochat.domain.permissions import Permission
from gochat.domain.records import AuditEntry, Viewer
from gochat.ids import Snowflake

# Action names clients filter by; stable, like GraphQL enum values.
ACTIONS = (
    "GUILD_UPDATE",
    "GUILD_OWNER_TRANSFER",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "CHANNELS_REORDER",
    "OVERWRITE_SET",
    "OVERWRITE_DELETE",
    "ROLE_CREATE",
    "ROLE_UPDATE",
    "ROLE_DELETE",
    "ROLES_REORDER",
    "MEMBER_ROLE_ADD",
    "MEMBER_ROLE_REMOVE",
    "MEMBER_NICKNAME",
    "MEMBER_KICK",
    "MEMBER_BAN",
    "MEMBER_UNBAN",
    "MEMBER_TIMEOUT",
    "INVITE_CREATE",
    "INVITE_REVOKE",
    "EMOJI_CREATE",
    "EMOJI_UPDATE",
    "EMOJI_DELETE",
    "THREAD_CREATE",
    "THREAD_UPDATE",
    "THREAD_DELETE",
)


class AuditService:
    def __init__(self, kit: ChangeKit) -> None:
        self._kit = kit

    async def list_entries(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        *,
        action: str | None,
        actor_id: Snowflake | None,
        before_id: Snowflake | None,
        limit: int,
    ) -> list[AuditEntry]:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.VIEW_AUDIT_LOG, "read the audit log")
        return await self._kit.store.list_audit(
            guild_id, action=action, actor_id=actor_id, before_id=before_id, limit=limit
        )
