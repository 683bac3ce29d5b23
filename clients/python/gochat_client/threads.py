from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from .base_model import BaseModel


class Threads(BaseModel):
    channel: Optional[
        Annotated[
            Union["ThreadsChannelChannel", "ThreadsChannelTextChannel"],
            Field(discriminator="typename__"),
        ]
    ]


class ThreadsChannelChannel(BaseModel):
    typename__: Literal[
        "CategoryChannel", "Channel", "ThreadChannel", "VoiceChannel"
    ] = Field(alias="__typename")
    id: str


class ThreadsChannelTextChannel(BaseModel):
    typename__: Literal["TextChannel"] = Field(alias="__typename")
    id: str
    rate_limit_per_user: int = Field(alias="rateLimitPerUser")
    threads: "ThreadsChannelTextChannelThreads"


class ThreadsChannelTextChannelThreads(BaseModel):
    edges: list["ThreadsChannelTextChannelThreadsEdges"]
    page_info: "ThreadsChannelTextChannelThreadsPageInfo" = Field(alias="pageInfo")


class ThreadsChannelTextChannelThreadsEdges(BaseModel):
    cursor: str
    node: "ThreadsChannelTextChannelThreadsEdgesNode"


class ThreadsChannelTextChannelThreadsEdgesNode(BaseModel):
    id: str
    name: str
    archived: bool
    message_count: int = Field(alias="messageCount")
    last_message_id: Optional[str] = Field(alias="lastMessageId")


class ThreadsChannelTextChannelThreadsPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


Threads.model_rebuild()
ThreadsChannelTextChannel.model_rebuild()
ThreadsChannelTextChannelThreads.model_rebuild()
ThreadsChannelTextChannelThreadsEdges.model_rebuild()
