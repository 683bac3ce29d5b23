"""Direct messages, friendships, friend requests and blocks in SQL (user-scoped state)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gochat.domain.records import ChannelType, DirectChannel, FriendRequest
from gochat.errors import Conflict, NotFound
from gochat.ids import Snowflake
from gochat.storage import EventsOf
from gochat.storage.sql import outbox as outbox_sql
from gochat.storage.sql.engine import Engines
from gochat.storage.sql.errors import unavailable_on_disconnect
from gochat.storage.sql.tables import (
    blocks,
    channel_directory,
    dm_channels,
    dm_pairs,
    dm_recipients,
    friend_requests,
    friendships,
)


async def _load_tx(conn: AsyncConnection, channel_ids: Sequence[int]) -> list[DirectChannel]:
    if not channel_ids:
        return []
    rows = (
        await conn.execute(select(dm_channels).where(dm_channels.c.id.in_(list(channel_ids))))
    ).all()
    members: dict[int, list[Snowflake]] = {}
    for r in await conn.execute(
        select(dm_recipients.c.channel_id, dm_recipients.c.user_id)
        .where(dm_recipients.c.channel_id.in_(list(channel_ids)))
        .order_by(dm_recipients.c.user_id)
    ):
        members.setdefault(r.channel_id, []).append(Snowflake(r.user_id))
    return [_direct(r, members.get(r.id, [])) for r in rows]


def _direct(row: Any, recipients: list[Snowflake]) -> DirectChannel:
    return DirectChannel(
        id=Snowflake(row.id),
        type=ChannelType(row.type),
        owner_id=None if row.owner_id is None else Snowflake(row.owner_id),
        name=row.name,
        recipient_ids=tuple(recipients),
        last_message_id=None if row.last_message_id is None else Snowflake(row.last_message_id),
        created_at=row.created_at,
    )


class SqlDirectStore:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    async def get_channel(self, channel_id: Snowflake) -> DirectChannel | None:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            found = await _load_tx(conn, [channel_id])
        return found[0] if found else None

    async def all_channel_ids(self) -> list[Snowflake]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(select(dm_channels.c.id).order_by(dm_channels.c.id))
            return [Snowflake(r.id) for r in rows]

    async def list_channels_of(self, user_id: Snowflake) -> list[DirectChannel]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            ids = [
                r.channel_id
                for r in await conn.execute(
                    select(dm_recipients.c.channel_id).where(dm_recipients.c.user_id == user_id)
                )
            ]
            found = await _load_tx(conn, ids)
        return sorted(found, key=lambda c: -(c.last_message_id or c.id))

    async def open_pair(
        self, channel: DirectChannel, *, events: EventsOf[DirectChannel]
    ) -> tuple[DirectChannel, bool]:
        a, b = sorted(channel.recipient_ids)
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            existing = await conn.scalar(
                select(dm_pairs.c.channel_id).where(
                    and_(dm_pairs.c.user_low == a, dm_pairs.c.user_high == b)
                )
            )
            if existing is None:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(dm_pairs).values(user_low=a, user_high=b, channel_id=channel.id)
                        )
                except IntegrityError:
                    existing = await conn.scalar(
                        select(dm_pairs.c.channel_id).where(
                            and_(dm_pairs.c.user_low == a, dm_pairs.c.user_high == b)
                        )
                    )
            if existing is not None:
                return (await _load_tx(conn, [existing]))[0], False
            await _insert_channel_tx(conn, channel)
            await outbox_sql.append_tx(conn, events(channel))
            return channel, True

    async def create_group(
        self, channel: DirectChannel, *, events: EventsOf[DirectChannel]
    ) -> DirectChannel:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await _insert_channel_tx(conn, channel)
            await outbox_sql.append_tx(conn, events(channel))
            return channel

    async def set_recipients(
        self,
        channel_id: Snowflake,
        *,
        add: Sequence[Snowflake],
        remove: Sequence[Snowflake],
        max_recipients: int,
        new_owner: Snowflake | None,
        events: EventsOf[DirectChannel | None],
    ) -> DirectChannel | None:
        """Change a group's members at once; None when the group ended (nobody left)."""
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            locked = await conn.scalar(
                select(dm_channels.c.id).where(dm_channels.c.id == channel_id).with_for_update()
            )
            if locked is None:
                raise NotFound("channel not found")
            if remove:
                await conn.execute(
                    delete(dm_recipients).where(
                        and_(
                            dm_recipients.c.channel_id == channel_id,
                            dm_recipients.c.user_id.in_(list(remove)),
                        )
                    )
                )
            for user_id in add:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(dm_recipients).values(channel_id=channel_id, user_id=user_id)
                        )
                except IntegrityError:
                    raise Conflict("already in this group") from None
            if new_owner is not None:
                await conn.execute(
                    update(dm_channels)
                    .where(dm_channels.c.id == channel_id)
                    .values(owner_id=new_owner)
                )
            channel = (await _load_tx(conn, [channel_id]))[0]
            if len(channel.recipient_ids) > max_recipients:
                raise Conflict(f"a group holds at most {max_recipients} people")
            result: DirectChannel | None = channel
            if not channel.recipient_ids:
                await conn.execute(delete(dm_channels).where(dm_channels.c.id == channel_id))
                await conn.execute(
                    delete(channel_directory).where(channel_directory.c.channel_id == channel_id)
                )
                result = None
            await outbox_sql.append_tx(conn, events(result))
            return result

    async def touch(self, channel_id: Snowflake, message_id: Snowflake) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            await conn.execute(
                update(dm_channels)
                .where(
                    and_(
                        dm_channels.c.id == channel_id,
                        or_(
                            dm_channels.c.last_message_id.is_(None),
                            dm_channels.c.last_message_id < message_id,
                        ),
                    )
                )
                .values(last_message_id=message_id)
            )

    # --- relationships ---------------------------------------------------------------------

    async def relationship(self, user_id: Snowflake, other_id: Snowflake) -> set[str]:
        """Facts between two users: friends, requested (user -> other), requested_by,
        blocked (user blocked other), blocked_by."""
        facts: set[str] = set()
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            if (
                await conn.scalar(
                    select(friendships.c.user_id).where(
                        and_(friendships.c.user_id == user_id, friendships.c.friend_id == other_id)
                    )
                )
                is not None
            ):
                facts.add("friends")
            for r in await conn.execute(
                select(friend_requests).where(
                    or_(
                        and_(
                            friend_requests.c.from_id == user_id,
                            friend_requests.c.to_id == other_id,
                        ),
                        and_(
                            friend_requests.c.from_id == other_id,
                            friend_requests.c.to_id == user_id,
                        ),
                    )
                )
            ):
                facts.add("requested" if r.from_id == user_id else "requested_by")
            for r in await conn.execute(
                select(blocks).where(
                    or_(
                        and_(blocks.c.user_id == user_id, blocks.c.blocked_id == other_id),
                        and_(blocks.c.user_id == other_id, blocks.c.blocked_id == user_id),
                    )
                )
            ):
                facts.add("blocked" if r.user_id == user_id else "blocked_by")
        return facts

    async def add_request(self, request: FriendRequest, *, events: EventsOf[FriendRequest]) -> None:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(friend_requests).values(
                            from_id=request.from_id,
                            to_id=request.to_id,
                            created_at=request.created_at,
                        )
                    )
            except IntegrityError:
                raise Conflict("a friend request is already pending") from None
            await outbox_sql.append_tx(conn, events(request))

    async def remove_request(
        self, from_id: Snowflake, to_id: Snowflake, *, events: EventsOf[bool]
    ) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                delete(friend_requests).where(
                    and_(friend_requests.c.from_id == from_id, friend_requests.c.to_id == to_id)
                )
            )
            if result.rowcount != 1:
                return False
            await outbox_sql.append_tx(conn, events(True))  # noqa: FBT003
            return True

    async def befriend(
        self, requester: Snowflake, accepter: Snowflake, *, now: datetime, events: EventsOf[bool]
    ) -> bool:
        """Turn a pending request (requester -> accepter) into a friendship, at once."""
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            taken = await conn.execute(
                delete(friend_requests).where(
                    and_(
                        friend_requests.c.from_id == requester, friend_requests.c.to_id == accepter
                    )
                )
            )
            if taken.rowcount != 1:
                return False
            await conn.execute(
                delete(friend_requests).where(
                    and_(
                        friend_requests.c.from_id == accepter, friend_requests.c.to_id == requester
                    )
                )
            )
            await conn.execute(
                insert(friendships),
                [
                    {"user_id": requester, "friend_id": accepter, "created_at": now},
                    {"user_id": accepter, "friend_id": requester, "created_at": now},
                ],
            )
            await outbox_sql.append_tx(conn, events(True))  # noqa: FBT003
            return True

    async def unfriend(
        self, user_id: Snowflake, friend_id: Snowflake, *, events: EventsOf[bool]
    ) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                delete(friendships).where(
                    or_(
                        and_(
                            friendships.c.user_id == user_id, friendships.c.friend_id == friend_id
                        ),
                        and_(
                            friendships.c.user_id == friend_id, friendships.c.friend_id == user_id
                        ),
                    )
                )
            )
            if result.rowcount == 0:
                return False
            await outbox_sql.append_tx(conn, events(True))  # noqa: FBT003
            return True

    async def block(
        self, user_id: Snowflake, blocked_id: Snowflake, *, now: datetime, events: EventsOf[bool]
    ) -> bool:
        """Block, and end any friendship and pending requests between the two, at once."""
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(blocks).values(
                            user_id=user_id, blocked_id=blocked_id, created_at=now
                        )
                    )
            except IntegrityError:
                return False
            await conn.execute(
                delete(friendships).where(
                    or_(
                        and_(
                            friendships.c.user_id == user_id, friendships.c.friend_id == blocked_id
                        ),
                        and_(
                            friendships.c.user_id == blocked_id, friendships.c.friend_id == user_id
                        ),
                    )
                )
            )
            await conn.execute(
                delete(friend_requests).where(
                    or_(
                        and_(
                            friend_requests.c.from_id == user_id,
                            friend_requests.c.to_id == blocked_id,
                        ),
                        and_(
                            friend_requests.c.from_id == blocked_id,
                            friend_requests.c.to_id == user_id,
                        ),
                    )
                )
            )
            await outbox_sql.append_tx(conn, events(True))  # noqa: FBT003
            return True

    async def unblock(self, user_id: Snowflake, blocked_id: Snowflake) -> bool:
        async with unavailable_on_disconnect(), self._engines.write.begin() as conn:
            result = await conn.execute(
                delete(blocks).where(
                    and_(blocks.c.user_id == user_id, blocks.c.blocked_id == blocked_id)
                )
            )
            return bool(result.rowcount == 1)

    async def friends_of(self, user_id: Snowflake) -> list[Snowflake]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(friendships.c.friend_id)
                .where(friendships.c.user_id == user_id)
                .order_by(friendships.c.friend_id)
            )
            return [Snowflake(r.friend_id) for r in rows]

    async def requests_of(self, user_id: Snowflake) -> list[FriendRequest]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(friend_requests)
                .where(
                    or_(friend_requests.c.from_id == user_id, friend_requests.c.to_id == user_id)
                )
                .order_by(friend_requests.c.created_at)
            )
            return [
                FriendRequest(Snowflake(r.from_id), Snowflake(r.to_id), r.created_at) for r in rows
            ]

    async def blocked_by(self, user_id: Snowflake) -> list[Snowflake]:
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(blocks.c.blocked_id)
                .where(blocks.c.user_id == user_id)
                .order_by(blocks.c.blocked_id)
            )
            return [Snowflake(r.blocked_id) for r in rows]

    async def who_blocked(self, user_id: Snowflake, among: Sequence[Snowflake]) -> set[Snowflake]:
        """Those among `among` who blocked `user_id`."""
        if not among:
            return set()
        async with unavailable_on_disconnect(), self._engines.read.connect() as conn:
            rows = await conn.execute(
                select(blocks.c.user_id).where(
                    and_(blocks.c.blocked_id == user_id, blocks.c.user_id.in_(list(among)))
                )
            )
            return {Snowflake(r.user_id) for r in rows}


async def _insert_channel_tx(conn: AsyncConnection, channel: DirectChannel) -> None:
    await conn.execute(
        insert(dm_channels).values(
            id=channel.id,
            type=int(channel.type),
            owner_id=channel.owner_id,
            name=channel.name,
            last_message_id=None,
            created_at=channel.created_at,
        )
    )
    await conn.execute(
        insert(dm_recipients),
        [{"channel_id": channel.id, "user_id": u} for u in channel.recipient_ids],
    )
    await conn.execute(insert(channel_directory).values(channel_id=channel.id, guild_id=None))
