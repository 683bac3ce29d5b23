from typing import Literal, Union

from pydantic import Field

from .base_model import BaseModel


class Events(BaseModel):
    events: Union[
        "EventsEventsUserUpdated",
        "EventsEventsUserSettingsUpdated",
        "EventsEventsSessionRevoked",
        "EventsEventsResyncRequired",
        "EventsEventsGuildCreated",
        "EventsEventsGuildUpdated",
        "EventsEventsGuildDeleted",
        "EventsEventsChannelCreated",
        "EventsEventsChannelUpdated",
        "EventsEventsChannelDeleted",
        "EventsEventsChannelsReordered",
        "EventsEventsChannelVisibilityLost",
        "EventsEventsChannelVisibilityGained",
        "EventsEventsOverwriteUpdated",
        "EventsEventsOverwriteDeleted",
        "EventsEventsRoleCreated",
        "EventsEventsRoleUpdated",
        "EventsEventsRoleDeleted",
        "EventsEventsRolesReordered",
        "EventsEventsMemberJoined",
        "EventsEventsMemberUpdated",
        "EventsEventsMemberRemoved",
        "EventsEventsMemberBanned",
        "EventsEventsMemberUnbanned",
        "EventsEventsInviteCreated",
        "EventsEventsInviteRevoked",
        "EventsEventsEmojiCreated",
        "EventsEventsEmojiUpdated",
        "EventsEventsEmojiDeleted",
        "EventsEventsMessageCreated",
        "EventsEventsMessageUpdated",
        "EventsEventsMessagesDeleted",
        "EventsEventsReactionAdded",
        "EventsEventsReactionRemoved",
        "EventsEventsMessagePinned",
        "EventsEventsReadStateUpdated",
        "EventsEventsDirectChannelUpdated",
        "EventsEventsDirectChannelLeft",
        "EventsEventsFriendRequestReceived",
        "EventsEventsFriendRequestRemoved",
        "EventsEventsFriendAdded",
        "EventsEventsFriendRemoved",
        "EventsEventsPresenceUpdated",
        "EventsEventsTypingStarted",
        "EventsEventsThreadCreated",
        "EventsEventsThreadUpdated",
        "EventsEventsThreadDeleted",
        "EventsEventsThreadMembersUpdated",
        "EventsEventsVoiceStateUpdated",
        "EventsEventsSpeakingUpdated",
        "EventsEventsVoiceServerUpdated",
    ] = Field(discriminator="typename__")


class EventsEventsUserUpdated(BaseModel):
    typename__: Literal["UserUpdated"] = Field(alias="__typename")


class EventsEventsUserSettingsUpdated(BaseModel):
    typename__: Literal["UserSettingsUpdated"] = Field(alias="__typename")


class EventsEventsSessionRevoked(BaseModel):
    typename__: Literal["SessionRevoked"] = Field(alias="__typename")


class EventsEventsResyncRequired(BaseModel):
    typename__: Literal["ResyncRequired"] = Field(alias="__typename")
    reason: str


class EventsEventsGuildCreated(BaseModel):
    typename__: Literal["GuildCreated"] = Field(alias="__typename")


class EventsEventsGuildUpdated(BaseModel):
    typename__: Literal["GuildUpdated"] = Field(alias="__typename")


class EventsEventsGuildDeleted(BaseModel):
    typename__: Literal["GuildDeleted"] = Field(alias="__typename")


class EventsEventsChannelCreated(BaseModel):
    typename__: Literal["ChannelCreated"] = Field(alias="__typename")


class EventsEventsChannelUpdated(BaseModel):
    typename__: Literal["ChannelUpdated"] = Field(alias="__typename")


class EventsEventsChannelDeleted(BaseModel):
    typename__: Literal["ChannelDeleted"] = Field(alias="__typename")


class EventsEventsChannelsReordered(BaseModel):
    typename__: Literal["ChannelsReordered"] = Field(alias="__typename")


class EventsEventsChannelVisibilityLost(BaseModel):
    typename__: Literal["ChannelVisibilityLost"] = Field(alias="__typename")


class EventsEventsChannelVisibilityGained(BaseModel):
    typename__: Literal["ChannelVisibilityGained"] = Field(alias="__typename")


class EventsEventsOverwriteUpdated(BaseModel):
    typename__: Literal["OverwriteUpdated"] = Field(alias="__typename")


class EventsEventsOverwriteDeleted(BaseModel):
    typename__: Literal["OverwriteDeleted"] = Field(alias="__typename")


class EventsEventsRoleCreated(BaseModel):
    typename__: Literal["RoleCreated"] = Field(alias="__typename")


class EventsEventsRoleUpdated(BaseModel):
    typename__: Literal["RoleUpdated"] = Field(alias="__typename")


class EventsEventsRoleDeleted(BaseModel):
    typename__: Literal["RoleDeleted"] = Field(alias="__typename")


class EventsEventsRolesReordered(BaseModel):
    typename__: Literal["RolesReordered"] = Field(alias="__typename")


class EventsEventsMemberJoined(BaseModel):
    typename__: Literal["MemberJoined"] = Field(alias="__typename")


class EventsEventsMemberUpdated(BaseModel):
    typename__: Literal["MemberUpdated"] = Field(alias="__typename")


class EventsEventsMemberRemoved(BaseModel):
    typename__: Literal["MemberRemoved"] = Field(alias="__typename")


class EventsEventsMemberBanned(BaseModel):
    typename__: Literal["MemberBanned"] = Field(alias="__typename")


class EventsEventsMemberUnbanned(BaseModel):
    typename__: Literal["MemberUnbanned"] = Field(alias="__typename")


class EventsEventsInviteCreated(BaseModel):
    typename__: Literal["InviteCreated"] = Field(alias="__typename")


class EventsEventsInviteRevoked(BaseModel):
    typename__: Literal["InviteRevoked"] = Field(alias="__typename")


class EventsEventsEmojiCreated(BaseModel):
    typename__: Literal["EmojiCreated"] = Field(alias="__typename")


class EventsEventsEmojiUpdated(BaseModel):
    typename__: Literal["EmojiUpdated"] = Field(alias="__typename")


class EventsEventsEmojiDeleted(BaseModel):
    typename__: Literal["EmojiDeleted"] = Field(alias="__typename")


class EventsEventsMessageCreated(BaseModel):
    typename__: Literal["MessageCreated"] = Field(alias="__typename")
    message: "EventsEventsMessageCreatedMessage"


class EventsEventsMessageCreatedMessage(BaseModel):
    id: str
    channel_id: str = Field(alias="channelId")
    author_id: str = Field(alias="authorId")
    content: str


class EventsEventsMessageUpdated(BaseModel):
    typename__: Literal["MessageUpdated"] = Field(alias="__typename")


class EventsEventsMessagesDeleted(BaseModel):
    typename__: Literal["MessagesDeleted"] = Field(alias="__typename")


class EventsEventsReactionAdded(BaseModel):
    typename__: Literal["ReactionAdded"] = Field(alias="__typename")


class EventsEventsReactionRemoved(BaseModel):
    typename__: Literal["ReactionRemoved"] = Field(alias="__typename")


class EventsEventsMessagePinned(BaseModel):
    typename__: Literal["MessagePinned"] = Field(alias="__typename")


class EventsEventsReadStateUpdated(BaseModel):
    typename__: Literal["ReadStateUpdated"] = Field(alias="__typename")


class EventsEventsDirectChannelUpdated(BaseModel):
    typename__: Literal["DirectChannelUpdated"] = Field(alias="__typename")


class EventsEventsDirectChannelLeft(BaseModel):
    typename__: Literal["DirectChannelLeft"] = Field(alias="__typename")


class EventsEventsFriendRequestReceived(BaseModel):
    typename__: Literal["FriendRequestReceived"] = Field(alias="__typename")


class EventsEventsFriendRequestRemoved(BaseModel):
    typename__: Literal["FriendRequestRemoved"] = Field(alias="__typename")


class EventsEventsFriendAdded(BaseModel):
    typename__: Literal["FriendAdded"] = Field(alias="__typename")


class EventsEventsFriendRemoved(BaseModel):
    typename__: Literal["FriendRemoved"] = Field(alias="__typename")


class EventsEventsPresenceUpdated(BaseModel):
    typename__: Literal["PresenceUpdated"] = Field(alias="__typename")


class EventsEventsTypingStarted(BaseModel):
    typename__: Literal["TypingStarted"] = Field(alias="__typename")


class EventsEventsThreadCreated(BaseModel):
    typename__: Literal["ThreadCreated"] = Field(alias="__typename")


class EventsEventsThreadUpdated(BaseModel):
    typename__: Literal["ThreadUpdated"] = Field(alias="__typename")


class EventsEventsThreadDeleted(BaseModel):
    typename__: Literal["ThreadDeleted"] = Field(alias="__typename")


class EventsEventsThreadMembersUpdated(BaseModel):
    typename__: Literal["ThreadMembersUpdated"] = Field(alias="__typename")


class EventsEventsVoiceStateUpdated(BaseModel):
    typename__: Literal["VoiceStateUpdated"] = Field(alias="__typename")


class EventsEventsSpeakingUpdated(BaseModel):
    typename__: Literal["SpeakingUpdated"] = Field(alias="__typename")


class EventsEventsVoiceServerUpdated(BaseModel):
    typename__: Literal["VoiceServerUpdated"] = Field(alias="__typename")


Events.model_rebuild()
EventsEventsMessageCreated.model_rebuild()
