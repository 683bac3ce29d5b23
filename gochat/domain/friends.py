"""Friends and blocks. A request goes by handle; a request to someone who already asked you
accepts theirs. Blocking ends any friendship and pending requests both ways, and stops friend
requests and DMs between the two."""

from __future__ import annotations

from gochat.bus import subjects
from gochat.domain import validation
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import (
    Event,
    FriendAdded,
    FriendRemoved,
    FriendRequestReceived,
    FriendRequestRemoved,
)
from gochat.domain.records import FriendRequest, User, Viewer
from gochat.errors import BadUserInput, Conflict, Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import AccountStore, DirectStore


class FriendService:
    def __init__(self, kit: ChangeKit, store: DirectStore, accounts: AccountStore) -> None:
        self._kit = kit
        self._store = store
        self._accounts = accounts

    async def send_request(self, viewer: Viewer, *, handle: str) -> FriendRequest | None:
        """The pending request, or None when it accepted theirs and you are now friends."""
        target = await self._by_handle(handle)
        if target.id == viewer.user_id:
            raise BadUserInput("you cannot befriend yourself", field="handle")
        facts = await self._store.relationship(viewer.user_id, target.id)
        if facts & {"blocked", "blocked_by"}:
            raise Forbidden("you cannot send this user a friend request")
        if "friends" in facts:
            raise Conflict("you are already friends")
        if "requested_by" in facts:
            await self.accept(viewer, target.id)
            return None
        kit = self._kit
        request = FriendRequest(viewer.user_id, target.id, kit.now().replace(microsecond=0))
        pending = Pending()
        await self._store.add_request(
            request,
            events=kit.events(
                pending,
                lambda r, eid: [
                    (
                        FriendRequestReceived(event_id=eid, request=r),
                        [subjects.user(r.to_id), subjects.user(r.from_id)],
                    )
                ],
            ),
        )
        await kit.publish(pending)
        return request

    async def accept(self, viewer: Viewer, user_id: Snowflake) -> None:
        kit = self._kit
        pending = Pending()
        done = await self._store.befriend(
            user_id,
            viewer.user_id,
            now=kit.now(),
            events=kit.events(
                pending, lambda _, eid: self._pair_events(FriendAdded, eid, viewer.user_id, user_id)
            ),
        )
        if not done:
            raise NotFound("no pending request from this user")
        await kit.publish(pending)

    async def decline(self, viewer: Viewer, user_id: Snowflake) -> None:
        await self._drop_request(from_id=user_id, to_id=viewer.user_id)

    async def cancel(self, viewer: Viewer, user_id: Snowflake) -> None:
        await self._drop_request(from_id=viewer.user_id, to_id=user_id)

    async def remove(self, viewer: Viewer, user_id: Snowflake) -> None:
        kit = self._kit
        pending = Pending()
        done = await self._store.unfriend(
            viewer.user_id,
            user_id,
            events=kit.events(
                pending,
                lambda _, eid: self._pair_events(FriendRemoved, eid, viewer.user_id, user_id),
            ),
        )
        if not done:
            raise NotFound("not a friend")
        await kit.publish(pending)

    async def block(self, viewer: Viewer, user_id: Snowflake) -> None:
        if user_id == viewer.user_id:
            raise BadUserInput("you cannot block yourself", field="userId")
        if await self._accounts.get_user(user_id) is None:
            raise NotFound("user not found")
        kit = self._kit
        pending = Pending()
        was_friend = "friends" in await self._store.relationship(viewer.user_id, user_id)
        await self._store.block(
            viewer.user_id,
            user_id,
            now=kit.now(),
            events=kit.events(
                pending,
                lambda _, eid: (
                    self._pair_events(FriendRemoved, eid, viewer.user_id, user_id)
                    if was_friend
                    else []
                ),
            ),
        )
        await kit.publish(pending)

    async def unblock(self, viewer: Viewer, user_id: Snowflake) -> None:
        if not await self._store.unblock(viewer.user_id, user_id):
            raise NotFound("this user is not blocked")

    async def friends(self, viewer: Viewer) -> list[User]:
        ids = await self._store.friends_of(viewer.user_id)
        found = await self._accounts.get_users(ids)
        return [found[i] for i in ids if i in found]

    async def requests(self, viewer: Viewer) -> list[FriendRequest]:
        return await self._store.requests_of(viewer.user_id)

    async def blocked(self, viewer: Viewer) -> list[User]:
        ids = await self._store.blocked_by(viewer.user_id)
        found = await self._accounts.get_users(ids)
        return [found[i] for i in ids if i in found]

    async def _drop_request(self, *, from_id: Snowflake, to_id: Snowflake) -> None:
        kit = self._kit
        pending = Pending()
        done = await self._store.remove_request(
            from_id,
            to_id,
            events=kit.events(
                pending,
                lambda _, eid: [
                    (
                        FriendRequestRemoved(event_id=eid, from_id=from_id, to_id=to_id),
                        [subjects.user(from_id), subjects.user(to_id)],
                    )
                ],
            ),
        )
        if not done:
            raise NotFound("no such pending request")
        await kit.publish(pending)

    def _pair_events(
        self,
        kind: type[FriendAdded] | type[FriendRemoved],
        eid: Snowflake,
        a: Snowflake,
        b: Snowflake,
    ) -> list[tuple[Event, list[str]]]:
        return [
            (kind(event_id=eid, user_id=a, friend_id=b), [subjects.user(a)]),
            (kind(event_id=self._kit.ids.next_id(), user_id=b, friend_id=a), [subjects.user(b)]),
        ]

    async def _by_handle(self, handle: str) -> User:
        try:
            value = validation.handle(handle)
        except BadUserInput:
            raise NotFound("no user with this handle") from None
        user = await self._accounts.get_user_by_handle(value)
        if user is None or user.deleted:
            raise NotFound("no user with this handle")
        return user
