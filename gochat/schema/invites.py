"""GraphQL types of invites: the invite itself and what it shows before joining."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.schema.accounts import User, load_user
from gochat.schema.common import Node, to_id
from gochat.schema.context import Info


@strawberry.type(description="An invite link to a guild channel.")
class Invite(Node):
    record: strawberry.Private[records.Invite]

    @strawberry.field(description="The invite's code, as its id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.code)

    @strawberry.field(
        description="The invite code: it identifies the invite, and the link is built from it."
    )
    def code(self) -> str:
        return self.record.code

    @strawberry.field(description="The guild the invite joins.")
    def guild_id(self) -> strawberry.ID:
        return to_id(self.record.guild_id)

    @strawberry.field(description="The channel the invite leads to after joining.")
    def channel_id(self) -> strawberry.ID:
        return to_id(self.record.channel_id)

    @strawberry.field(description="Who created the invite; null only if that account is gone.")
    async def inviter(self, info: Info) -> User | None:
        return await load_user(info, self.record.inviter_id)

    @strawberry.field(description="0 means unlimited.")
    def max_uses(self) -> int:
        return self.record.max_uses

    @strawberry.field(description="How many users joined through it.")
    def uses(self) -> int:
        return self.record.uses

    @strawberry.field(description="Null: never expires.")
    def expires_at(self) -> datetime | None:
        return self.record.expires_at

    @strawberry.field(description="When the invite was created.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(description="True once revoked: it can no longer be used.")
    def revoked(self) -> bool:
        return self.record.revoked_at is not None


@strawberry.type(description="What an invite shows before joining; needs no sign-in.")
class InvitePreview:
    code: str = strawberry.field(description="The invite code.")
    guild_id: strawberry.ID = strawberry.field(description="The guild the invite joins.")
    guild_name: str = strawberry.field(description="The guild's name.")
    member_count: int = strawberry.field(description="How many members the guild has now.")
    inviter: User | None = strawberry.field(
        description="Who created the invite; null only if that account is gone."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the invite stops working; null: never."
    )
