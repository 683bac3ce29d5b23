from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel
from .enums import ChannelType


class Sidebar(BaseModel):
    me: "SidebarMe"


class SidebarMe(BaseModel):
    id: str
    handle: str
    display_name: str = Field(alias="displayName")
    guilds: list["SidebarMeGuilds"]
    direct_message_channels: list["SidebarMeDirectMessageChannels"] = Field(
        alias="directMessageChannels"
    )


class SidebarMeGuilds(BaseModel):
    id: str
    name: str
    channels: list[
        Annotated[
            Union[
                "SidebarMeGuildsChannelsChannel", "SidebarMeGuildsChannelsTextChannel"
            ],
            Field(discriminator="typename__"),
        ]
    ]


class SidebarMeGuildsChannelsChannel(BaseModel):
    typename__: Literal[
        "CategoryChannel", "Channel", "ThreadChannel", "VoiceChannel"
    ] = Field(alias="__typename")
    id: str
    name: str
    type_: ChannelType = Field(alias="type")
    position: int


class SidebarMeGuildsChannelsTextChannel(BaseModel):
    typename__: Literal["TextChannel"] = Field(alias="__typename")
    id: str
    name: str
    type_: ChannelType = Field(alias="type")
    position: int
    unread_count: int = Field(alias="unreadCount")
    mention_count: int = Field(alias="mentionCount")


class SidebarMeDirectMessageChannels(BaseModel):
    id: str
    name: Optional[str]
    unread_count: int = Field(alias="unreadCount")


Sidebar.model_rebuild()
SidebarMe.model_rebuild()
SidebarMeGuilds.model_rebuild()
