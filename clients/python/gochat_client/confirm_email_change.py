from pydantic import Field

from .base_model import BaseModel


class ConfirmEmailChange(BaseModel):
    confirm_email_change: "ConfirmEmailChangeConfirmEmailChange" = Field(
        alias="confirmEmailChange"
    )


class ConfirmEmailChangeConfirmEmailChange(BaseModel):
    user: "ConfirmEmailChangeConfirmEmailChangeUser"


class ConfirmEmailChangeConfirmEmailChangeUser(BaseModel):
    id: str
    email: str
    email_verified: bool = Field(alias="emailVerified")


ConfirmEmailChange.model_rebuild()
ConfirmEmailChangeConfirmEmailChange.model_rebuild()
