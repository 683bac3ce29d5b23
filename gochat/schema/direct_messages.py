"""GraphQL types for DMs, group DMs, friends and friend requests."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.ids import Snowflake
from gochat.schema.accounts import User
from gochat.schema.common import Node, to_id
from gochat.schema.context import Info
from gochat.schema.messages import (
    HistoryAfter,
    HistoryAround,
    HistoryBefore,
    HistoryFirst,
    HistoryLast,
    MessageConnection,
    history_connection,
)


@strawberry.enum(description="Kinds of direct channels.")
class DirectChannelType(enum.Enum):
    _value_: int
    DM = strawberry.enum_value(3, description="A conversation of two people.")
    GROUP_DM = strawberry.enum_value(4, description="A group of up to 10 people, with an owner.")


@strawberry.type(description="A 1:1 DM or a group DM of up to 10 people.")
class DirectMessageChannel(Node):
    record: strawberry.Private[records.DirectChannel]

    @strawberry.field(description="Snowflake id of the channel.")
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field(description="DM (two people) or GROUP_DM.")
    def type(self) -> DirectChannelType:
        return DirectChannelType(int(self.record.type))

    @strawberry.field(description="Group DMs only.")
    def name(self) -> str | None:
        return self.record.name

    @strawberry.field(description="Group DMs only: who manages the members.")
    def owner_id(self) -> strawberry.ID | None:
        return None if self.record.owner_id is None else to_id(self.record.owner_id)

    @strawberry.field(description="Everyone in the channel, you included.")
    async def recipients(self, info: Info) -> list[User]:
        found = await info.context.loaders.user_by_id.load_many(list(self.record.recipient_ids))
        return [User.from_record(u) for u in found if u is not None]

    @strawberry.field(description="The newest message's id; null before the first message.")
    def last_message_id(self) -> strawberry.ID | None:
        return None if self.record.last_message_id is None else to_id(self.record.last_message_id)

    @strawberry.field(description="When the channel was created.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(description="Messages after your read marker (counted up to 1000).")
    async def unread_count(self, info: Info) -> int:
        return await info.context.services.read_states.unread_count(
            await info.context.viewer(), self.record.id
        )

    @strawberry.field(description="Unread messages mentioning you (up to 1000).")
    async def mention_count(self, info: Info) -> int:
        return await info.context.services.read_states.mention_count(
            await info.context.viewer(), self.record.id
        )

    @strawberry.field(description="History, as for guild channels.")
    async def messages(
        self,
        info: Info,
        *,
        first: HistoryFirst = None,
        after: HistoryAfter = None,
        last: HistoryLast = None,
        before: HistoryBefore = None,
        around: HistoryAround = None,
    ) -> MessageConnection:
        return await history_connection(
            info, self.record.id, first=first, after=after, last=last, before=before, around=around
        )


@strawberry.type(description="A pending friend request.")
class FriendRequest:
    record: strawberry.Private[records.FriendRequest]
    other_id: strawberry.Private[Snowflake]

    @strawberry.field(description="The other person.")
    async def user(self, info: Info) -> User | None:
        found = await info.context.loaders.user_by_id.load(self.other_id)
        return None if found is None else User.from_record(found)

    @strawberry.field(description="When the request was sent.")
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="Pending requests, to you and from you.")
class FriendRequests:
    incoming: list[FriendRequest] = strawberry.field(
        description="Requests others sent you, to accept or decline."
    )
    outgoing: list[FriendRequest] = strawberry.field(
        description="Requests you sent, which you may cancel."
    )


@strawberry.input(description="Get or create the one DM with a user.")
class OpenDirectMessageInput:
    user_id: strawberry.ID = strawberry.field(description="The other user.")


@strawberry.type(description="The DM with the user.")
class OpenDirectMessagePayload:
    channel: DirectMessageChannel = strawberry.field(description="The DM, new or existing.")


@strawberry.input(description="Create a group DM; you own it. 2-10 people including you.")
class CreateGroupDirectMessageInput:
    user_ids: list[strawberry.ID] = strawberry.field(description="The other people: 1-9 user ids.")
    name: str | None = strawberry.field(
        default=None, description="The group's name, at most 100 characters; null: none."
    )


@strawberry.type(description="The new group DM.")
class CreateGroupDirectMessagePayload:
    channel: DirectMessageChannel = strawberry.field(description="The group DM.")


@strawberry.input(description="A group DM and one user.")
class GroupRecipientInput:
    channel_id: strawberry.ID = strawberry.field(description="The group DM.")
    user_id: strawberry.ID = strawberry.field(description="The user to add or remove.")


@strawberry.input(description="Add someone to your group DM (the owner only).")
class AddGroupRecipientInput(GroupRecipientInput):
    pass


@strawberry.input(description="Remove someone from your group DM (the owner only).")
class RemoveGroupRecipientInput(GroupRecipientInput):
    pass


@strawberry.type(description="The group DM after the change.")
class GroupRecipientPayload:
    channel: DirectMessageChannel = strawberry.field(description="The group DM, as it is now.")


@strawberry.type(description="The group DM with the new recipient.")
class AddGroupRecipientPayload(GroupRecipientPayload):
    pass


@strawberry.type(description="The group DM without the removed recipient.")
class RemoveGroupRecipientPayload(GroupRecipientPayload):
    pass


@strawberry.input(description="Leave a group DM; ownership passes on.")
class LeaveGroupDirectMessageInput:
    channel_id: strawberry.ID = strawberry.field(description="The group DM to leave.")


@strawberry.type(description="The group DM you left.")
class LeaveGroupDirectMessagePayload:
    channel_id: strawberry.ID = strawberry.field(description="The group DM.")


@strawberry.input(
    description="Ask someone to be friends, by handle. If they already asked you, this accepts."
)
class SendFriendRequestInput:
    handle: str = strawberry.field(description="The other user's handle.")


@strawberry.type(description="The request sent, or the friendship it completed.")
class SendFriendRequestPayload:
    request: FriendRequest | None = strawberry.field(
        description="Null when it accepted their pending request: you are friends now."
    )
    friends: bool = strawberry.field(
        description="True when you are friends now (their request was pending)."
    )


@strawberry.input(description="Act on a relationship with one user.")
class UserRelationInput:
    user_id: strawberry.ID = strawberry.field(description="The other user.")


@strawberry.type(description="The relationship changed.")
class UserRelationPayload:
    user_id: strawberry.ID = strawberry.field(description="The other user.")


@strawberry.input(description="Accept the pending friend request from this user.")
class AcceptFriendRequestInput(UserRelationInput):
    pass


@strawberry.type(description="You and the user are friends now.")
class AcceptFriendRequestPayload(UserRelationPayload):
    pass


@strawberry.input(description="Decline the pending friend request from this user.")
class DeclineFriendRequestInput(UserRelationInput):
    pass


@strawberry.type(description="The request from the user is gone.")
class DeclineFriendRequestPayload(UserRelationPayload):
    pass


@strawberry.input(description="Withdraw the friend request you sent to this user.")
class CancelFriendRequestInput(UserRelationInput):
    pass


@strawberry.type(description="Your request to the user is gone.")
class CancelFriendRequestPayload(UserRelationPayload):
    pass


@strawberry.input(description="End your friendship with this user.")
class RemoveFriendInput(UserRelationInput):
    pass


@strawberry.type(description="You and the user are no longer friends.")
class RemoveFriendPayload(UserRelationPayload):
    pass


@strawberry.input(description="Block this user.")
class BlockUserInput(UserRelationInput):
    pass


@strawberry.type(description="The user is blocked.")
class BlockUserPayload(UserRelationPayload):
    pass


@strawberry.input(description="Unblock this user.")
class UnblockUserInput(UserRelationInput):
    pass


@strawberry.type(description="The user is no longer blocked.")
class UnblockUserPayload(UserRelationPayload):
    pass
