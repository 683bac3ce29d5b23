"""Global object identification: `node` and `nodes` fetch any object with an id again, by the
same domain lookups (and the same visibility) as the fields that first returned it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from gochat.domain.records import Viewer
from gochat.errors import BadUserInput, NotFound
from gochat.ids import Snowflake, parse_id
from gochat.schema.accounts import User
from gochat.schema.channels import channel_shape
from gochat.schema.common import LOOKUP_RULE, Node, parse_member_id
from gochat.schema.context import Info
from gochat.schema.direct_messages import DirectMessageChannel
from gochat.schema.guilds import Emoji, Guild, Member, Role
from gochat.schema.invites import Invite
from gochat.schema.messages import Message

NODES_MAX = 100
_INVITE_CODE = re.compile(r"^[A-Za-z0-9]{1,32}$")

Lookup = Callable[[Info, Viewer, Snowflake], Awaitable[Node]]


async def _guild(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    return Guild(record=(await info.context.services.guilds.access(viewer, id)).guild)


async def _channel(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    _, channel = await info.context.services.channels.access(viewer, id)
    return channel_shape(channel)


async def _direct_channel(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    return DirectMessageChannel(
        record=await info.context.services.direct_messages.access(viewer, id)
    )


async def _role(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    return Role(record=await info.context.services.guilds.find_role(viewer, id))


async def _emoji(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    return Emoji(record=await info.context.services.emoji.find(viewer, id))


async def _user(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    found = await info.context.loaders.user_by_id.load(id)
    if found is None:
        raise NotFound("user not found")
    return User.from_record(found)


async def _message(info: Info, viewer: Viewer, id: Snowflake) -> Node:
    found, _ = await info.context.services.messages.access(viewer, id)
    return Message(record=found)


# Snowflakes come from one generator, so at most one kind holds a given id, with one exception
# by design: a guild's @everyone role has the guild's id. The guild comes first, so that is
# what `node` returns for it. Lookups by primary key come before the scans of the viewer's
# guilds that roles and (last) emoji need, as they are stored per guild.
SNOWFLAKE_LOOKUPS: tuple[Lookup, ...] = (
    _guild,
    _channel,
    _direct_channel,
    _user,
    _message,
    _role,
    _emoji,
)


async def find_node(info: Info, raw: str, *, field: str) -> Node:
    """The object with this id as the viewer may see it; NotFound when there is none or the
    viewer may not see it, BadUserInput when `raw` is no id of any kind."""
    viewer = await info.context.viewer()
    services = info.context.services
    snowflake = parse_id(raw)
    if snowflake is not None:
        for lookup in SNOWFLAKE_LOOKUPS:
            try:
                return await lookup(info, viewer, snowflake)
            except NotFound:
                continue
        raise NotFound("not found")
    member = parse_member_id(raw)
    if member is not None:
        guild_id, user_id = member
        return Member(record=await services.members.get(viewer, guild_id, user_id))
    if _INVITE_CODE.match(raw):
        return Invite(record=await services.invites.access(viewer, raw))
    raise BadUserInput("not an id of this API", field=field)


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object with an id (see Node), by that id, with the visibility of the "
        f"field that returned it. {LOOKUP_RULE} A string that is no id at all is "
        "BAD_USER_INPUT."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The `id` of a Node.")],
    ) -> Node | None:
        return await find_node(info, id, field="id")

    @strawberry.field(
        description="Up to 100 objects by id, in the order asked. Each one missing or not "
        "visible is null, with one NOT_FOUND error whose path names its index."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="1-100 ids of Nodes.")],
    ) -> list[Node | None]:
        if not 1 <= len(ids) <= NODES_MAX:
            raise BadUserInput(f"give 1 to {NODES_MAX} ids", field="ids")
        # graphql-core completes an exception in a list as null at that item's own path with
        # the error, which is the lookup rule for each item.
        found: list[Any] = []
        for raw in ids:
            try:
                found.append(await find_node(info, raw, field="ids"))
            except NotFound as exc:
                found.append(exc)
        return found
