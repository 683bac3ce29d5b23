"""Create users and sessions through the public API."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from tests.support.client import GraphQLClient

PASSWORD = "correct horse battery"
_counter = itertools.count()

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { user { id handle email emailVerified displayName } }
}"""

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) {
    session { sessionId accessToken refreshToken accessTokenExpiresAt refreshTokenExpiresAt }
    user { id }
  }
}"""


@dataclass
class SignedUpUser:
    id: str
    handle: str
    email: str
    password: str
    token: str
    refresh_token: str
    session_id: str
    client: GraphQLClient


def unique_handle(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}_{uuid.uuid4().hex[:6]}"


async def register(
    client: GraphQLClient,
    *,
    handle: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    display_name: str = "Test User",
) -> dict[str, str]:
    handle = handle or unique_handle()
    email = email or f"{handle}@example.com"
    result = await client.execute(
        REGISTER,
        {
            "input": {
                "email": email,
                "handle": handle,
                "displayName": display_name,
                "password": password,
            }
        },
    )
    user: dict[str, str] = result.ok()["register"]["user"]
    return user


async def login(client: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    result = await client.execute(LOGIN, {"input": {"email": email, "password": password}})
    session: dict[str, str] = result.ok()["login"]["session"]
    return session


async def signed_up(client: GraphQLClient, *, handle: str | None = None) -> SignedUpUser:
    """A registered, signed-in user."""
    user = await register(client, handle=handle)
    session = await login(client, user["email"])
    return SignedUpUser(
        id=user["id"],
        handle=user["handle"],
        email=user["email"],
        password=PASSWORD,
        token=session["accessToken"],
        refresh_token=session["refreshToken"],
        session_id=session["sessionId"],
        client=client.as_user(session["accessToken"]),
    )
