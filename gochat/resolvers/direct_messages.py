"""DM, group DM, friend and block operations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.schema.common import LOOKUP_RULE, MUTATION_INPUT, snowflake, to_id
from gochat.schema.context import Info
from gochat.schema.direct_messages import (
    AcceptFriendRequestInput,
    AcceptFriendRequestPayload,
    AddGroupRecipientInput,
    AddGroupRecipientPayload,
    BlockUserInput,
    BlockUserPayload,
    CancelFriendRequestInput,
    CancelFriendRequestPayload,
    CreateGroupDirectMessageInput,
    CreateGroupDirectMessagePayload,
    DeclineFriendRequestInput,
    DeclineFriendRequestPayload,
    DirectMessageChannel,
    FriendRequest,
    LeaveGroupDirectMessageInput,
    LeaveGroupDirectMessagePayload,
    OpenDirectMessageInput,
    OpenDirectMessagePayload,
    RemoveFriendInput,
    RemoveFriendPayload,
    RemoveGroupRecipientInput,
    RemoveGroupRecipientPayload,
    SendFriendRequestInput,
    SendFriendRequestPayload,
    UnblockUserInput,
    UnblockUserPayload,
)


@strawberry.type
class DirectMessageQuery:
    @strawberry.field(description=f"A DM or group DM you are in. {LOOKUP_RULE}")
    async def direct_message_channel(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Snowflake id of the channel.")
        ],
    ) -> DirectMessageChannel | None:
        channel = await info.context.services.direct_messages.access(
            await info.context.viewer(), snowflake(id, field="id")
        )
        return DirectMessageChannel(record=channel)


@strawberry.type
class DirectMessageMutation:
    @strawberry.mutation(description="Get or create the one DM with a user (FORBIDDEN if blocked).")
    async def open_direct_message(
        self, info: Info, input: Annotated[OpenDirectMessageInput, MUTATION_INPUT]
    ) -> OpenDirectMessagePayload:
        channel = await info.context.services.direct_messages.open(
            await info.context.viewer(), snowflake(input.user_id, field="userId")
        )
        return OpenDirectMessagePayload(channel=DirectMessageChannel(record=channel))

    @strawberry.mutation(description="Create a group DM of 2-10 people.")
    async def create_group_direct_message(
        self, info: Info, input: Annotated[CreateGroupDirectMessageInput, MUTATION_INPUT]
    ) -> CreateGroupDirectMessagePayload:
        channel = await info.context.services.direct_messages.create_group(
            await info.context.viewer(),
            [snowflake(u, field="userIds") for u in input.user_ids],
            name=input.name,
        )
        return CreateGroupDirectMessagePayload(channel=DirectMessageChannel(record=channel))

    @strawberry.mutation(description="Add someone to your group DM (owner only).")
    async def add_group_recipient(
        self, info: Info, input: Annotated[AddGroupRecipientInput, MUTATION_INPUT]
    ) -> AddGroupRecipientPayload:
        channel = await info.context.services.direct_messages.add_recipient(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            snowflake(input.user_id, field="userId"),
        )
        return AddGroupRecipientPayload(channel=DirectMessageChannel(record=channel))

    @strawberry.mutation(description="Remove someone from your group DM (owner only).")
    async def remove_group_recipient(
        self, info: Info, input: Annotated[RemoveGroupRecipientInput, MUTATION_INPUT]
    ) -> RemoveGroupRecipientPayload:
        channel = await info.context.services.direct_messages.remove_recipient(
            await info.context.viewer(),
            snowflake(input.channel_id, field="channelId"),
            snowflake(input.user_id, field="userId"),
        )
        return RemoveGroupRecipientPayload(channel=DirectMessageChannel(record=channel))

    @strawberry.mutation(description="Leave a group DM.")
    async def leave_group_direct_message(
        self, info: Info, input: Annotated[LeaveGroupDirectMessageInput, MUTATION_INPUT]
    ) -> LeaveGroupDirectMessagePayload:
        channel_id = snowflake(input.channel_id, field="channelId")
        await info.context.services.direct_messages.leave(await info.context.viewer(), channel_id)
        return LeaveGroupDirectMessagePayload(channel_id=to_id(channel_id))

    @strawberry.mutation(description="Send a friend request by handle.")
    async def send_friend_request(
        self, info: Info, input: Annotated[SendFriendRequestInput, MUTATION_INPUT]
    ) -> SendFriendRequestPayload:
        viewer = await info.context.viewer()
        request = await info.context.services.friends.send_request(viewer, handle=input.handle)
        if request is None:
            return SendFriendRequestPayload(request=None, friends=True)
        return SendFriendRequestPayload(
            request=FriendRequest(record=request, other_id=request.to_id), friends=False
        )

    @strawberry.mutation(description="Accept a pending request from a user.")
    async def accept_friend_request(
        self, info: Info, input: Annotated[AcceptFriendRequestInput, MUTATION_INPUT]
    ) -> AcceptFriendRequestPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.friends.accept(await info.context.viewer(), user_id)
        return AcceptFriendRequestPayload(user_id=to_id(user_id))

    @strawberry.mutation(description="Decline a pending request from a user.")
    async def decline_friend_request(
        self, info: Info, input: Annotated[DeclineFriendRequestInput, MUTATION_INPUT]
    ) -> DeclineFriendRequestPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.friends.decline(await info.context.viewer(), user_id)
        return DeclineFriendRequestPayload(user_id=to_id(user_id))

    @strawberry.mutation(description="Cancel a request you sent.")
    async def cancel_friend_request(
        self, info: Info, input: Annotated[CancelFriendRequestInput, MUTATION_INPUT]
    ) -> CancelFriendRequestPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.friends.cancel(await info.context.viewer(), user_id)
        return CancelFriendRequestPayload(user_id=to_id(user_id))

    @strawberry.mutation(description="End a friendship.")
    async def remove_friend(
        self, info: Info, input: Annotated[RemoveFriendInput, MUTATION_INPUT]
    ) -> RemoveFriendPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.friends.remove(await info.context.viewer(), user_id)
        return RemoveFriendPayload(user_id=to_id(user_id))

    @strawberry.mutation(
        description="Block a user: no DMs, friend requests or mention notices from them."
    )
    async def block_user(
        self, info: Info, input: Annotated[BlockUserInput, MUTATION_INPUT]
    ) -> BlockUserPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.friends.block(await info.context.viewer(), user_id)
        return BlockUserPayload(user_id=to_id(user_id))

    @strawberry.mutation(description="Unblock a user.")
    async def unblock_user(
        self, info: Info, input: Annotated[UnblockUserInput, MUTATION_INPUT]
    ) -> UnblockUserPayload:
        user_id = snowflake(input.user_id, field="userId")
        await info.context.services.friends.unblock(await info.context.viewer(), user_id)
        return UnblockUserPayload(user_id=to_id(user_id))
