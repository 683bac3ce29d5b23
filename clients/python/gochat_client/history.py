from datetime import datetime
from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel


class History(BaseModel):
    channel: Optional[
        Annotated[
            Union["HistoryChannelChannel", "HistoryChannelTextChannel"],
            Field(discriminator="typename__"),
        ]
    ]


class HistoryChannelChannel(BaseModel):
    typename__: Literal[
        "CategoryChannel", "Channel", "ThreadChannel", "VoiceChannel"
    ] = Field(alias="__typename")
    id: str
    name: str


class HistoryChannelTextChannel(BaseModel):
    typename__: Literal["TextChannel"] = Field(alias="__typename")
    id: str
    name: str
    messages: Optional["HistoryChannelTextChannelMessages"]


class HistoryChannelTextChannelMessages(BaseModel):
    edges: list["HistoryChannelTextChannelMessagesEdges"]
    page_info: "HistoryChannelTextChannelMessagesPageInfo" = Field(alias="pageInfo")


class HistoryChannelTextChannelMessagesEdges(BaseModel):
    cursor: str
    node: "HistoryChannelTextChannelMessagesEdgesNode"


class HistoryChannelTextChannelMessagesEdgesNode(BaseModel):
    id: str
    author_id: str = Field(alias="authorId")
    content: str
    created_at: datetime = Field(alias="createdAt")


class HistoryChannelTextChannelMessagesPageInfo(BaseModel):
    has_previous_page: bool = Field(alias="hasPreviousPage")
    start_cursor: Optional[str] = Field(alias="startCursor")


History.model_rebuild()
HistoryChannelTextChannel.model_rebuild()
HistoryChannelTextChannelMessages.model_rebuild()
HistoryChannelTextChannelMessagesEdges.model_rebuild()
