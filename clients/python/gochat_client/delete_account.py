from pydantic import Field

from .base_model import BaseModel


class DeleteAccount(BaseModel):
    delete_account: "DeleteAccountDeleteAccount" = Field(alias="deleteAccount")


class DeleteAccountDeleteAccount(BaseModel):
    ok: bool


DeleteAccount.model_rebuild()
