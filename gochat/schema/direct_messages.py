"""GraphQL types for DMs, group DMs, friends and friend requests."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.ids import Snowflake
from gochat.schema.accounts import User
from gochat.schema.common import to_id
from gochat.schema.context import Info
from gochat.schema.messages import MessageConnection, history_connection


@strawberry.enum(description="Kinds of direct channels.")
class DirectChannelType(enum.Enum):
    DM = 3
    GROUP_DM = 4


@strawberry.type(description="A 1:1 DM or a group DM of up to 10 people.")
class DirectMessageChannel:
    record: strawberry.Private[records.DirectChannel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_id(self.record.id)

    @strawberry.field
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

    @strawberry.field
    def last_message_id(self) -> strawberry.ID | None:
        return None if self.record.last_message_id is None else to_id(self.record.last_message_id)

    @strawberry.field
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
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        around: strawberry.ID | None = None,
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

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(description="Pending requests, to you and from you.")
class FriendRequests:
    incoming: list[FriendRequest]
    outgoing: list[FriendRequest]


@strawberry.input(description="Get or create the one DM with a user.")
class OpenDirectMessageInput:
    user_id: strawberry.ID


@strawberry.type
class OpenDirectMessagePayload:
    channel: DirectMessageChannel


@strawberry.input(description="Create a group DM; you own it. 2-10 people including you.")
class CreateGroupDirectMessageInput:
    user_ids: list[strawberry.ID]
    name: str | None = None


@strawberry.type
class CreateGroupDirectMessagePayload:
    channel: DirectMessageChannel


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
    channel_id: strawberry.ID


@strawberry.type
class LeaveGroupDirectMessagePayload:
    channel_id: strawberry.ID


@strawberry.input(
    description="Ask someone to be friends, by handle. If they already asked you, this accepts."
)
class SendFriendRequestInput:
    handle: str


@strawberry.type
class SendFriendRequestPayload:
    request: FriendRequest | None = strawberry.field(
        description="Null when it accepted their pending request: you are friends now."
    )
    friends: bool


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
