"""Direct messages: the one 1:1 channel per pair of users, group DMs of up to 10 people with an
owner who adds and removes members, leaving, and the list ordered by latest message.

A user who blocked another, or was blocked by them, cannot open a DM with them or add them to a
group; messages in an existing 1:1 DM stop (see channel_access)."""

from __future__ import annotations

from collections.abc import Sequence

from gochat.bus import subjects
from gochat.domain import validation
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import DirectChannelLeft, DirectChannelUpdated, Event
from gochat.domain.records import ChannelType, DirectChannel, Viewer
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import AccountStore, DirectStore

GROUP_MAX = 10
GROUP_NAME_MAX = 100


class DirectMessageService:
    def __init__(self, kit: ChangeKit, store: DirectStore, accounts: AccountStore) -> None:
        self._kit = kit
        self._store = store
        self._accounts = accounts

    async def list_mine(self, viewer: Viewer) -> list[DirectChannel]:
        return await self._store.list_channels_of(viewer.user_id)

    async def access(self, viewer: Viewer, channel_id: Snowflake) -> DirectChannel:
        channel = await self._store.get_channel(channel_id)
        if channel is None or viewer.user_id not in channel.recipient_ids:
            raise NotFound("channel not found")
        return channel

    async def open(self, viewer: Viewer, user_id: Snowflake) -> DirectChannel:
        if user_id == viewer.user_id:
            raise BadUserInput("you cannot open a DM with yourself", field="userId")
        await self._require_reachable(viewer, user_id)
        kit = self._kit
        draft = DirectChannel(
            id=kit.ids.next_id(),
            type=ChannelType.DM,
            owner_id=None,
            name=None,
            recipient_ids=tuple(sorted((viewer.user_id, user_id))),
            last_message_id=None,
            created_at=kit.now().replace(microsecond=0),
        )
        pending = Pending()
        channel, _ = await self._store.open_pair(draft, events=kit.events(pending, self._updated))
        await kit.publish(pending)
        return channel

    async def create_group(
        self, viewer: Viewer, user_ids: Sequence[Snowflake], *, name: str | None
    ) -> DirectChannel:
        members = list(dict.fromkeys([viewer.user_id, *user_ids]))
        if len(members) < 2:
            raise BadUserInput("a group needs at least one other person", field="userIds")
        if len(members) > GROUP_MAX:
            raise BadUserInput(f"a group holds at most {GROUP_MAX} people", field="userIds")
        for user_id in members[1:]:
            await self._require_reachable(viewer, user_id)
        kit = self._kit
        channel = DirectChannel(
            id=kit.ids.next_id(),
            type=ChannelType.GROUP_DM,
            owner_id=viewer.user_id,
            name=None
            if name is None
            else validation.name(name, field="name", max_length=GROUP_NAME_MAX),
            recipient_ids=tuple(sorted(members)),
            last_message_id=None,
            created_at=kit.now().replace(microsecond=0),
        )
        pending = Pending()
        created = await self._store.create_group(channel, events=kit.events(pending, self._updated))
        await kit.publish(pending)
        return created

    async def add_recipient(
        self, viewer: Viewer, channel_id: Snowflake, user_id: Snowflake
    ) -> DirectChannel:
        channel = await self._owned_group(viewer, channel_id)
        await self._require_reachable(viewer, user_id)
        if len(channel.recipient_ids) >= GROUP_MAX:
            raise BadUserInput(f"a group holds at most {GROUP_MAX} people", field="userId")
        result = await self._change(channel, add=[user_id], remove=[], new_owner=None)
        assert result is not None
        return result

    async def remove_recipient(
        self, viewer: Viewer, channel_id: Snowflake, user_id: Snowflake
    ) -> DirectChannel:
        channel = await self._owned_group(viewer, channel_id)
        if user_id == viewer.user_id:
            raise BadUserInput("use leaveGroupDirectMessage to leave", field="userId")
        if user_id not in channel.recipient_ids:
            raise NotFound("not in this group")
        result = await self._change(channel, add=[], remove=[user_id], new_owner=None)
        assert result is not None
        return result

    async def leave(self, viewer: Viewer, channel_id: Snowflake) -> None:
        channel = await self.access(viewer, channel_id)
        if channel.type != ChannelType.GROUP_DM:
            raise BadUserInput("only group DMs can be left", field="channelId")
        remaining = [u for u in channel.recipient_ids if u != viewer.user_id]
        new_owner = remaining[0] if channel.owner_id == viewer.user_id and remaining else None
        await self._change(channel, add=[], remove=[viewer.user_id], new_owner=new_owner)

    async def _owned_group(self, viewer: Viewer, channel_id: Snowflake) -> DirectChannel:
        channel = await self.access(viewer, channel_id)
        if channel.type != ChannelType.GROUP_DM:
            raise BadUserInput("only group DMs have members to manage", field="channelId")
        if channel.owner_id != viewer.user_id:
            raise Forbidden("only the group's owner manages its members")
        return channel

    async def _change(
        self,
        channel: DirectChannel,
        *,
        add: list[Snowflake],
        remove: list[Snowflake],
        new_owner: Snowflake | None,
    ) -> DirectChannel | None:
        kit = self._kit

        def make(result: DirectChannel | None, eid: Snowflake) -> list[tuple[Event, list[str]]]:
            out: list[tuple[Event, list[str]]] = [
                (
                    DirectChannelLeft(event_id=kit.ids.next_id(), channel_id=channel.id, user_id=u),
                    [subjects.user(u)],
                )
                for u in remove
            ]
            if result is not None:
                out.append(
                    (
                        DirectChannelUpdated(event_id=eid, channel=result),
                        [subjects.user(u) for u in result.recipient_ids],
                    )
                )
            return out

        pending = Pending()
        result = await self._store.set_recipients(
            channel.id,
            add=add,
            remove=remove,
            max_recipients=GROUP_MAX,
            new_owner=new_owner,
            events=kit.events(pending, make),
        )
        await kit.publish(pending)
        return result

    def _updated(self, channel: DirectChannel, eid: Snowflake) -> list[tuple[Event, list[str]]]:
        return [
            (
                DirectChannelUpdated(event_id=eid, channel=channel),
                [subjects.user(u) for u in channel.recipient_ids],
            )
        ]

    async def _require_reachable(self, viewer: Viewer, user_id: Snowflake) -> None:
        if await self._accounts.get_user(user_id) is None:
            raise NotFound("user not found")
        if await self._store.relationship(viewer.user_id, user_id) & {"blocked", "blocked_by"}:
            raise Forbidden("you cannot message this user")
