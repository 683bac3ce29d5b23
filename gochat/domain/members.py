"""Guild members: listing and search, nicknames, leaving, permissions in a channel."""

from __future__ import annotations

from gochat.bus import subjects
from gochat.domain import validation
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import MemberRemoved, MemberUpdated
from gochat.domain.permissions import Permission
from gochat.domain.records import Member, Viewer
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake

NICKNAME_MAX = 32
PAGE_MAX = 100


class MemberService:
    def __init__(self, kit: ChangeKit) -> None:
        self._kit = kit

    async def list_members(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        *,
        after_user_id: Snowflake | None,
        prefix: str | None,
        limit: int,
    ) -> list[Member]:
        await self._kit.access.view(viewer, guild_id)
        if not 1 <= limit <= PAGE_MAX + 1:
            raise BadUserInput(f"page size is 1 to {PAGE_MAX}", field="first")
        if prefix is not None and len(prefix) > 64:
            raise BadUserInput("search prefix has at most 64 characters", field="search")
        return await self._kit.store.list_members(
            guild_id,
            after_user_id=after_user_id,
            prefix=(prefix or "").strip() or None,
            limit=limit,
        )

    async def get(self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake) -> Member:
        view = await self._kit.access.view(viewer, guild_id)
        if user_id == viewer.user_id:
            return view.member
        member = await self._kit.store.get_member(guild_id, user_id)
        if member is None:
            raise NotFound("member not found")
        return member

    async def get_many(
        self, guild_id: Snowflake, user_ids: list[Snowflake]
    ) -> dict[Snowflake, Member]:
        """Members by id, without authorization (for loaders behind an authorized parent)."""
        return await self._kit.store.get_members(guild_id, user_ids)

    async def permissions_in(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake, channel_id: Snowflake
    ) -> Permission:
        view = await self._kit.access.view(viewer, guild_id)
        channel = view.channel(channel_id)
        member = await self.get(viewer, guild_id, user_id)
        return view.permissions_in(channel, member)

    async def set_nickname(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake, nickname: str | None
    ) -> Member:
        view = await self._kit.access.view(viewer, guild_id)
        if user_id == viewer.user_id:
            view.require(Permission.CHANGE_NICKNAME, "change your nickname")
            target = view.member
        else:
            view.require(Permission.MANAGE_NICKNAMES, "change others' nicknames")
            found = await self._kit.store.get_member(guild_id, user_id)
            if found is None:
                raise NotFound("member not found")
            view.require_above_member(found, "rename")
            target = found
        value = None
        if nickname is not None and nickname.strip():
            value = validation.name(nickname, field="nickname", max_length=NICKNAME_MAX)
        kit = self._kit
        pending = Pending()
        member = await kit.store.update_member(
            guild_id,
            user_id,
            {"nickname": value},
            events=kit.guild_events(
                pending, guild_id, lambda m, eid: MemberUpdated(event_id=eid, member=m)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="MEMBER_NICKNAME",
                target_type="user",
                target_id=user_id,
                changes={"nickname": [target.nickname, value]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return member

    async def leave(self, viewer: Viewer, guild_id: Snowflake) -> None:
        view = await self._kit.access.view(viewer, guild_id)
        if view.is_owner:
            raise Forbidden("the owner cannot leave; transfer ownership or delete the guild")
        kit = self._kit
        pending = Pending()
        await kit.store.remove_member(
            guild_id,
            viewer.user_id,
            ban=None,
            events=kit.events(
                pending,
                lambda _, eid: [
                    (
                        MemberRemoved(
                            event_id=eid, guild_id=guild_id, user_id=viewer.user_id, reason="left"
                        ),
                        [subjects.guild(guild_id), subjects.user(viewer.user_id)],
                    )
                ],
            ),
            audit=lambda _: (),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
