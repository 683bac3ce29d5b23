"""Roles: create, edit, delete, reorder, assign and remove, under the hierarchy rules.

Nobody edits, assigns, removes or moves a role at or above their own highest role, and nobody
grants a permission they lack; the owner is exempt from both, ADMINISTRATOR holds every
permission. @everyone (id = guild id, position 0) can have its permissions edited by anyone
with MANAGE_ROLES, but is never renamed, moved, assigned or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from gochat.domain import validation
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import (
    MemberUpdated,
    RoleCreated,
    RoleDeleted,
    RolesReordered,
    RoleUpdated,
)
from gochat.domain.guild_access import GuildView
from gochat.domain.permissions import Permission, parse_mask
from gochat.domain.records import Member, Role, Viewer
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake

ROLE_NAME_MAX = 100
COLOR_MAX = 0xFFFFFF
MAX_ROLES = 250


def _mask(value: int, field: str) -> int:
    try:
        return int(parse_mask(value))
    except ValueError as exc:
        raise BadUserInput("permissions has bits that are not permissions", field=field) from exc


def _color(value: int) -> int:
    if not 0 <= value <= COLOR_MAX:
        raise BadUserInput("color is an RGB value from 0 to 16777215", field="color")
    return value


class RoleService:
    def __init__(self, kit: ChangeKit) -> None:
        self._kit = kit

    async def create(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        *,
        name: str,
        color: int,
        permissions: int,
        hoist: bool,
        mentionable: bool,
    ) -> Role:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_ROLES, "create roles")
        mask = _mask(permissions, "permissions")
        view.require_grantable(mask)
        if len(view.data.roles) >= MAX_ROLES:
            raise BadUserInput(f"a guild has at most {MAX_ROLES} roles", field="guildId")
        kit = self._kit
        role = Role(
            id=kit.ids.next_id(),
            guild_id=guild_id,
            name=validation.name(name, field="name", max_length=ROLE_NAME_MAX),
            color=_color(color),
            permissions=mask,
            position=0,  # the store places it at 1, just above @everyone
            hoist=hoist,
            mentionable=mentionable,
            created_at=kit.now().replace(microsecond=0),
        )
        pending = Pending()
        created = await kit.store.create_role(
            role,
            events=kit.guild_events(
                pending, guild_id, lambda r, eid: RoleCreated(event_id=eid, role=r)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="ROLE_CREATE",
                target_type="role",
                target_id=role.id,
                changes={"name": [None, role.name], "permissions": [None, mask]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return created

    async def update(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        role_id: Snowflake,
        *,
        name: str | None = None,
        color: int | None = None,
        permissions: int | None = None,
        hoist: bool | None = None,
        mentionable: bool | None = None,
    ) -> Role:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_ROLES, "change roles")
        role = view.role(role_id)
        if not role.is_everyone:
            view.require_above_role(role, "change")
        values: dict[str, object] = {}
        if name is not None:
            if role.is_everyone:
                raise BadUserInput("@everyone cannot be renamed", field="name")
            values["name"] = validation.name(name, field="name", max_length=ROLE_NAME_MAX)
        if color is not None:
            values["color"] = _color(color)
        if permissions is not None:
            mask = _mask(permissions, "permissions")
            view.require_grantable(mask & ~role.permissions)
            values["permissions"] = mask
        if hoist is not None:
            values["hoist"] = hoist
        if mentionable is not None:
            values["mentionable"] = mentionable
        if not values:
            return role
        kit = self._kit
        pending = Pending()
        updated = await kit.store.update_role(
            guild_id,
            role_id,
            values,
            events=kit.guild_events(
                pending, guild_id, lambda r, eid: RoleUpdated(event_id=eid, role=r)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="ROLE_UPDATE",
                target_type="role",
                target_id=role_id,
                changes={k: [getattr(role, k), v] for k, v in values.items()},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return updated

    async def delete(self, viewer: Viewer, guild_id: Snowflake, role_id: Snowflake) -> Role:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_ROLES, "delete roles")
        role = view.role(role_id)
        if role.is_everyone:
            raise BadUserInput("@everyone cannot be deleted", field="roleId")
        view.require_above_role(role, "delete")
        kit = self._kit
        pending = Pending()
        deleted = await kit.store.delete_role(
            guild_id,
            role_id,
            events=kit.guild_events(
                pending, guild_id, lambda r, eid: RoleDeleted(event_id=eid, role=r)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="ROLE_DELETE",
                target_type="role",
                target_id=role_id,
                changes={"name": [role.name, None]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return deleted

    async def reorder(
        self, viewer: Viewer, guild_id: Snowflake, positions: Sequence[tuple[Snowflake, int]]
    ) -> list[Role]:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_ROLES, "reorder roles")
        if not positions:
            raise BadUserInput("give at least one role", field="roles")
        if len({r for r, _ in positions}) != len(positions):
            raise BadUserInput("a role appears twice", field="roles")
        for role_id, position in positions:
            role = view.role(role_id)
            if role.is_everyone:
                raise BadUserInput("@everyone always stays at position 0", field="roles")
            if position < 1:
                raise BadUserInput("role positions start at 1", field="roles")
            view.require_above_role(role, "move")
            if not view.is_owner and position >= view.rank():
                raise Forbidden("you can only move roles below your highest role")
        kit = self._kit
        pending = Pending()
        roles = await kit.store.set_role_positions(
            guild_id,
            positions,
            events=kit.guild_events(
                pending,
                guild_id,
                lambda rs, eid: RolesReordered(event_id=eid, guild_id=guild_id, roles=tuple(rs)),
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="ROLES_REORDER",
                target_type="guild",
                target_id=guild_id,
                changes={str(r): p for r, p in positions},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return sorted(roles, key=lambda r: (-r.position, r.id))

    async def assign(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake, role_id: Snowflake
    ) -> Member:
        return await self._set(viewer, guild_id, user_id, role_id, present=True)

    async def remove(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake, role_id: Snowflake
    ) -> Member:
        return await self._set(viewer, guild_id, user_id, role_id, present=False)

    async def _set(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        user_id: Snowflake,
        role_id: Snowflake,
        *,
        present: bool,
    ) -> Member:
        view: GuildView = await self._kit.access.view(viewer, guild_id)
        verb = "assign" if present else "remove"
        view.require(Permission.MANAGE_ROLES, f"{verb} roles")
        role = view.role(role_id)
        if role.is_everyone:
            raise BadUserInput("every member has @everyone", field="roleId")
        view.require_above_role(role, verb)
        if await self._kit.store.get_member(guild_id, user_id) is None:
            raise NotFound("member not found")
        kit = self._kit
        pending = Pending()
        member = await kit.store.set_member_role(
            guild_id,
            user_id,
            role_id,
            present=present,
            events=kit.guild_events(
                pending, guild_id, lambda m, eid: MemberUpdated(event_id=eid, member=m)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="MEMBER_ROLE_ADD" if present else "MEMBER_ROLE_REMOVE",
                target_type="user",
                target_id=user_id,
                changes={"roleId": str(role_id)},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return member
