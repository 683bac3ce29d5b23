from pydantic import Field

from .base_model import BaseModel


class RequestEmailChange(BaseModel):
    request_email_change: "RequestEmailChangeRequestEmailChange" = Field(
        alias="requestEmailChange"
    )


class RequestEmailChangeRequestEmailChange(BaseModel):
    ok: bool


RequestEmailChange.model_rebuild()
