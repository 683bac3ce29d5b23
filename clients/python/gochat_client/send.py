from datetime import datetime

from pydantic import Field

from .base_model import BaseModel


class Send(BaseModel):
    send_message: "SendSendMessage" = Field(alias="sendMessage")


class SendSendMessage(BaseModel):
    created: bool
    message: "SendSendMessageMessage"


class SendSendMessageMessage(BaseModel):
    id: str
    channel_id: str = Field(alias="channelId")
    content: str
    created_at: datetime = Field(alias="createdAt")


Send.model_rebuild()
SendSendMessage.model_rebuild()
