from datetime import datetime

from pydantic import Field

from .base_model import BaseModel


class Login(BaseModel):
    login: "LoginLogin"


class LoginLogin(BaseModel):
    session: "LoginLoginSession"
    user: "LoginLoginUser"


class LoginLoginSession(BaseModel):
    access_token: str = Field(alias="accessToken")
    access_token_expires_at: datetime = Field(alias="accessTokenExpiresAt")
    refresh_token: str = Field(alias="refreshToken")


class LoginLoginUser(BaseModel):
    id: str
    handle: str


Login.model_rebuild()
LoginLogin.model_rebuild()
