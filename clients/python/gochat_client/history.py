from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class History(BaseModel):
    channel: Optional["HistoryChannel"]


class HistoryChannel(BaseModel):
    id: str
    name: str
    messages: "HistoryChannelMessages"


class HistoryChannelMessages(BaseModel):
    edges: list["HistoryChannelMessagesEdges"]
    page_info: "HistoryChannelMessagesPageInfo" = Field(alias="pageInfo")


class HistoryChannelMessagesEdges(BaseModel):
    cursor: str
    node: "HistoryChannelMessagesEdgesNode"


class HistoryChannelMessagesEdgesNode(BaseModel):
    id: str
    author_id: str = Field(alias="authorId")
    content: str
    created_at: datetime = Field(alias="createdAt")


class HistoryChannelMessagesPageInfo(BaseModel):
    has_previous_page: bool = Field(alias="hasPreviousPage")
    start_cursor: Optional[str] = Field(alias="startCursor")


History.model_rebuild()
HistoryChannel.model_rebuild()
HistoryChannelMessages.model_rebuild()
HistoryChannelMessagesEdges.model_rebuild()
