"""GraphQL types of the audit log: what changed in a guild, by whom, newest first."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from gochat.domain import records
from gochat.domain.audit import ACTIONS
from gochat.schema.accounts import User, load_user
from gochat.schema.common import EDGE_CURSOR, EDGE_NODE, EDGES, PAGE_INFO, PageInfo, to_id
from gochat.schema.context import Info

_AUDIT_MEANINGS = {
    "GUILD_UPDATE": "The guild's settings changed (name, system channel).",
    "GUILD_OWNER_TRANSFER": "The guild got a new owner.",
    "CHANNEL_CREATE": "A channel was created.",
    "CHANNEL_UPDATE": "A channel changed (name, topic, category, privacy, region).",
    "CHANNEL_DELETE": "A channel was deleted.",
    "CHANNELS_REORDER": "Channels were moved.",
    "OVERWRITE_SET": "A channel permission overwrite was set.",
    "OVERWRITE_DELETE": "A channel permission overwrite was removed.",
    "ROLE_CREATE": "A role was created.",
    "ROLE_UPDATE": "A role changed (name, color, permissions, flags).",
    "ROLE_DELETE": "A role was deleted.",
    "ROLES_REORDER": "Roles were moved.",
    "MEMBER_ROLE_ADD": "A member was given a role.",
    "MEMBER_ROLE_REMOVE": "A role was taken from a member.",
    "MEMBER_NICKNAME": "A member's nickname was set or cleared.",
    "MEMBER_KICK": "A member was kicked.",
    "MEMBER_BAN": "A user was banned.",
    "MEMBER_UNBAN": "A ban was lifted.",
    "MEMBER_TIMEOUT": "A member was timed out, or a timeout lifted.",
    "MEMBER_VOICE": "A member was server-muted or deafened in voice, or it was lifted.",
    "INVITE_CREATE": "An invite was created.",
    "INVITE_REVOKE": "An invite was revoked.",
    "EMOJI_CREATE": "A custom emoji was added.",
    "EMOJI_UPDATE": "A custom emoji was renamed.",
    "EMOJI_DELETE": "A custom emoji was deleted.",
    "THREAD_CREATE": "A thread was started.",
    "THREAD_UPDATE": "A thread changed (name, archived, locked, auto-archive).",
    "THREAD_DELETE": "A thread was deleted.",
}

AuditAction = strawberry.enum(
    cast(
        type[enum.Enum],
        enum.Enum(
            "AuditAction",
            {a: strawberry.enum_value(a, description=_AUDIT_MEANINGS[a]) for a in ACTIONS},
        ),
    ),
    description="Kinds of audit log entries.",
)


@strawberry.type(description="One administrative or moderation change.")
class AuditLogEntry:
    record: strawberry.Private[records.AuditEntry]

    @strawberry.field(description="Snowflake id of the entry (newer entries have larger ids).")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="Who made the change; null only if that account is gone.")
    async def actor(self, info: Info) -> User | None:
        return await load_user(info, self.record.actor_id)

    @strawberry.field(description="Who made the change.")
    def actor_id(self) -> strawberry.ID:
        return to_id(self.record.actor_id)

    @strawberry.field(description="What kind of change it was.")
    def action(self) -> AuditAction:  # type: ignore[valid-type]
        return AuditAction[self.record.action]

    @strawberry.field(description="guild, channel, role, user, invite or emoji.")
    def target_type(self) -> str:
        return self.record.target_type

    @strawberry.field(
        description=(
            "Id of what was changed (see targetType); null for invites, whose code is in `changes`."
        )
    )
    def target_id(self) -> strawberry.ID | None:
        return None if self.record.target_id is None else to_id(self.record.target_id)

    @strawberry.field(description="Changed fields: {field: [before, after]} or details.")
    def changes(self) -> JSON:
        return cast(JSON, self.record.changes)

    @strawberry.field(description="The reason given with the change, if any.")
    def reason(self) -> str | None:
        return self.record.reason

    @strawberry.field(description="When the change was made.")
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="One entry in a page of the audit log.")
class AuditLogEdge:
    node: AuditLogEntry = strawberry.field(description=EDGE_NODE)
    cursor: str = strawberry.field(description=EDGE_CURSOR)


@strawberry.type(description="Audit entries, newest first.")
class AuditLogConnection:
    edges: list[AuditLogEdge] = strawberry.field(description=EDGES)
    page_info: PageInfo = strawberry.field(description=PAGE_INFO)
