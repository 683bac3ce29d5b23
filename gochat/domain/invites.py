"""Invites: create, list, revoke, preview without joining, accept.

Accepting takes one use with a conditional update, so when two users race for the last use
exactly one joins. Expired, used-up, revoked and banned cases each answer with their own message.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from gochat.bus import subjects
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import InviteCreated, InviteRevoked, MemberJoined
from gochat.domain.messages import MessageService
from gochat.domain.permissions import Permission
from gochat.domain.records import Guild, Invite, Member, MessageType, User, Viewer
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import AccountStore, InviteAcceptance

CODE_LENGTH = 10
_ALPHABET = string.ascii_letters + string.digits
MAX_AGE_SECONDS_MAX = 30 * 86_400
MAX_USES_MAX = 1000
DEFAULT_MAX_AGE_SECONDS = 7 * 86_400


@dataclass(frozen=True, slots=True)
class InvitePreview:
    """What anyone holding a code may see before joining."""

    invite: Invite
    guild: Guild
    member_count: int
    inviter: User | None


class InviteService:
    def __init__(self, kit: ChangeKit, accounts: AccountStore, messages: MessageService) -> None:
        self._kit = kit
        self._accounts = accounts
        self._messages = messages

    async def create(
        self, viewer: Viewer, channel_id: Snowflake, *, max_age_seconds: int | None, max_uses: int
    ) -> Invite:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        view.require_in(channel, Permission.CREATE_INVITE, "create invites")
        age = DEFAULT_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
        if not 0 <= age <= MAX_AGE_SECONDS_MAX:
            raise BadUserInput(
                f"maxAgeSeconds is 0 (never expires) to {MAX_AGE_SECONDS_MAX}",
                field="maxAgeSeconds",
            )
        if not 0 <= max_uses <= MAX_USES_MAX:
            raise BadUserInput(f"maxUses is 0 (unlimited) to {MAX_USES_MAX}", field="maxUses")
        kit = self._kit
        now = kit.now().replace(microsecond=0)
        invite = Invite(
            code="".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH)),
            guild_id=channel.guild_id,
            channel_id=channel_id,
            inviter_id=viewer.user_id,
            max_uses=max_uses,
            uses=0,
            expires_at=None if age == 0 else now + timedelta(seconds=age),
            revoked_at=None,
            created_at=now,
        )
        pending = Pending()
        created = await kit.store.create_invite(
            invite,
            events=kit.guild_events(
                pending, channel.guild_id, lambda i, eid: InviteCreated(event_id=eid, invite=i)
            ),
            audit=kit.audit(
                guild_id=channel.guild_id,
                actor_id=viewer.user_id,
                action="INVITE_CREATE",
                target_type="invite",
                target_id=None,
                changes={"code": invite.code, "maxUses": max_uses, "maxAgeSeconds": age},
            ),
        )
        await kit.publish(pending)
        return created

    async def list_for_guild(self, viewer: Viewer, guild_id: Snowflake) -> list[Invite]:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_SERVER, "list the guild's invites")
        return await self._kit.store.list_invites(guild_id, channel_id=None, now=self._kit.now())

    async def list_for_channel(self, viewer: Viewer, channel_id: Snowflake) -> list[Invite]:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        view.require_in(channel, Permission.MANAGE_CHANNELS, "list the channel's invites")
        return await self._kit.store.list_invites(
            channel.guild_id, channel_id=channel_id, now=self._kit.now()
        )

    async def access(self, viewer: Viewer, code: str) -> Invite:
        """An invite as its managers see it: its creator, members with MANAGE_SERVER (who list
        the guild's invites) or with MANAGE_CHANNELS in its channel (who list the channel's).
        NotFound for everyone else, as for a missing code."""
        invite = await self._kit.store.get_invite(code)
        if invite is None:
            raise NotFound("invite not found")
        try:
            view = await self._kit.access.view(viewer, invite.guild_id)
            if invite.inviter_id == viewer.user_id or view.permissions() & Permission.MANAGE_SERVER:
                return invite
            channel = view.channel(invite.channel_id)
        except NotFound:
            raise NotFound("invite not found") from None
        if not view.permissions_in(channel) & Permission.MANAGE_CHANNELS:
            raise NotFound("invite not found")
        return invite

    async def revoke(self, viewer: Viewer, code: str) -> Invite:
        invite = await self._kit.store.get_invite(code)
        if invite is None:
            raise NotFound("invite not found")
        try:
            view = await self._kit.access.view(viewer, invite.guild_id)
        except NotFound:
            raise NotFound("invite not found") from None
        if (
            invite.inviter_id != viewer.user_id
            and not view.permissions() & Permission.MANAGE_SERVER
        ):
            raise Forbidden("you need MANAGE_SERVER to revoke others' invites")
        kit = self._kit
        pending = Pending()
        revoked = await kit.store.revoke_invite(
            invite.guild_id,
            code,
            now=kit.now(),
            events=kit.guild_events(
                pending, invite.guild_id, lambda i, eid: InviteRevoked(event_id=eid, invite=i)
            ),
            audit=kit.audit(
                guild_id=invite.guild_id,
                actor_id=viewer.user_id,
                action="INVITE_REVOKE",
                target_type="invite",
                target_id=None,
                changes={"code": code},
            ),
        )
        await kit.publish(pending)
        return revoked

    async def preview(self, code: str) -> InvitePreview:
        """Works without signing in; an unusable invite is NotFound with the reason."""
        invite = await self._kit.store.get_invite(code)
        if invite is None:
            raise NotFound("unknown invite")
        self._raise_unusable(invite)
        guild = await self._kit.store.get_guild(invite.guild_id)
        if guild is None:
            raise NotFound("unknown invite")
        return InvitePreview(
            invite=invite,
            guild=guild,
            member_count=await self._kit.store.count_members(guild.id),
            inviter=await self._accounts.get_user(invite.inviter_id),
        )

    async def accept(self, viewer: Viewer, code: str) -> tuple[Guild, Member]:
        kit = self._kit
        pending = Pending()

        def make(outcome: InviteAcceptance, eid: Snowflake) -> list[tuple[object, list[str]]]:
            if outcome.status != "joined" or outcome.member is None or outcome.invite is None:
                return []
            gid = outcome.invite.guild_id
            return [
                (
                    MemberJoined(event_id=eid, member=outcome.member),
                    [subjects.guild(gid), subjects.user(viewer.user_id)],
                )
            ]

        outcome = await kit.store.accept_invite(
            code,
            viewer.user_id,
            now=kit.now(),
            events=kit.events(pending, make),  # type: ignore[arg-type]
        )
        if outcome.invite is None or outcome.status == "unknown":
            raise NotFound("unknown invite")
        if outcome.status == "banned":
            raise Forbidden("you are banned from this guild")
        if outcome.status in {"revoked", "expired", "used_up"}:
            self._raise_unusable(outcome.invite, used_up=outcome.status == "used_up")
        assert outcome.member is not None
        await kit.publish(pending)
        kit.access.forget(viewer)
        guild = await kit.store.get_guild(outcome.invite.guild_id)
        if guild is None:
            raise NotFound("unknown invite")
        if outcome.status == "joined" and guild.system_channel_id is not None:
            await self._messages.post_system_unchecked(
                channel_id=guild.system_channel_id,
                guild_id=guild.id,
                author_id=viewer.user_id,
                kind=MessageType.MEMBER_JOINED,
            )
        return guild, outcome.member

    def _raise_unusable(self, invite: Invite, *, used_up: bool = False) -> None:
        if invite.revoked_at is not None:
            raise NotFound("this invite was revoked")
        if invite.expires_at is not None and invite.expires_at <= self._kit.now():
            raise NotFound("this invite has expired")
        if used_up or (invite.max_uses and invite.uses >= invite.max_uses):
            raise NotFound("this invite has reached its maximum uses")
