"""Registration, confirmation, profiles and settings through GraphQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import PASSWORD, REGISTER, login, register, signed_up
from tests.support.server import RunningServer

ME = "{ me { id handle displayName email emailVerified } }"


def mailed_token(server: RunningServer, to: str) -> str:
    mails = [m for m in server.services.mail.outbox if m.to == to]  # type: ignore[attr-defined]
    match = re.search(r"token: (\S+)\)", mails[-1].text)
    assert match, mails[-1].text
    return match.group(1)


def account(**overrides: str) -> dict[str, Any]:
    base = {
        "email": "valid@example.com",
        "handle": "valid",
        "displayName": "Valid",
        "password": PASSWORD,
    }
    return {"input": {**base, **overrides}}


async def user_count(server: RunningServer) -> int:
    from sqlalchemy import func, select

    from gochat.storage.sql.tables import users

    async with server.services.store.engines.read.connect() as conn:  # type: ignore[attr-defined]
        return int(await conn.scalar(select(func.count()).select_from(users)) or 0)


async def test_register_creates_an_unconfirmed_account_and_mails_a_link(
    client: GraphQLClient, server: RunningServer
) -> None:
    user = await register(client, handle="Alice", email="Alice@Example.com")
    assert user["handle"] == "alice" and user["email"] == "alice@example.com"
    assert user["emailVerified"] is False
    assert mailed_token(server, "alice@example.com")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "p" * 257}, "password"),
        ({"handle": "x"}, "handle"),
        ({"handle": "h" * 33}, "handle"),
        ({"handle": "bad handle!"}, "handle"),
        ({"displayName": ""}, "displayName"),
        ({"displayName": "d" * 65}, "displayName"),
        ({"displayName": "bell\x07"}, "displayName"),
    ],
    ids=[
        "malformed-email",
        "no-tld",
        "long-email",
        "short-password",
        "long-password",
        "short-handle",
        "long-handle",
        "handle-chars",
        "empty-name",
        "long-name",
        "control-char",
    ],
)
async def test_bad_registration_input_is_refused_and_nothing_is_written(
    client: GraphQLClient, server: RunningServer, overrides: dict[str, str], field: str
) -> None:
    before = await user_count(server)
    error = (await client.execute(REGISTER, account(**overrides))).error("BAD_USER_INPUT")
    assert error["extensions"]["field"] == field
    assert await user_count(server) == before
    assert not list(server.services.mail.outbox)  # type: ignore[attr-defined]


async def test_duplicate_email_or_handle_is_a_conflict(
    client: GraphQLClient, server: RunningServer
) -> None:
    await register(client, handle="taken", email="taken@example.com")
    before = await user_count(server)
    (await client.execute(REGISTER, account(email="TAKEN@example.com", handle="other"))).error(
        "CONFLICT"
    )
    (await client.execute(REGISTER, account(email="other@example.com", handle="TAKEN"))).error(
        "CONFLICT"
    )
    assert await user_count(server) == before


async def test_confirm_email_with_the_mailed_token_once(
    client: GraphQLClient, server: RunningServer
) -> None:
    user = await signed_up(client)
    token = mailed_token(server, user.email)
    confirm = (
        "mutation($t: String!) { confirmEmail(input: {token: $t}) { user { emailVerified } } }"
    )
    assert (await client.execute(confirm, {"t": token})).ok()["confirmEmail"]["user"][
        "emailVerified"
    ] is True
    (await client.execute(confirm, {"t": token})).error("BAD_USER_INPUT")
    (await client.execute(confirm, {"t": "garbage"})).error("BAD_USER_INPUT")
    assert (await user.client.execute(ME)).ok()["me"]["emailVerified"] is True


async def test_resend_confirmation_sends_a_new_working_link(
    client: GraphQLClient, server: RunningServer
) -> None:
    user = await signed_up(client)
    first = mailed_token(server, user.email)
    (await user.client.execute("mutation { resendEmailConfirmation { ok } }")).ok()
    second = mailed_token(server, user.email)
    assert second != first
    confirm = (
        "mutation($t: String!) { confirmEmail(input: {token: $t}) { user { emailVerified } } }"
    )
    (await client.execute(confirm, {"t": first})).error("BAD_USER_INPUT")
    assert (await client.execute(confirm, {"t": second})).ok()["confirmEmail"]["user"][
        "emailVerified"
    ]


async def test_me_and_user_by_id(client: GraphQLClient) -> None:
    alice = await signed_up(client, handle="alice")
    bob = await signed_up(client, handle="bob")
    me = (await alice.client.execute(ME)).ok()["me"]
    assert (me["id"], me["handle"], me["email"]) == (alice.id, "alice", alice.email)
    found = (
        await alice.client.execute(
            "query($id: ID!) { user(id: $id) { handle displayName } }", {"id": bob.id}
        )
    ).ok()
    assert found["user"] == {"handle": "bob", "displayName": "Test User"}
    missing = await alice.client.execute('query { user(id: "42") { id } }')
    assert missing.error("NOT_FOUND")["path"] == ["user"] and missing.data == {"user": None}
    (await alice.client.execute('query { user(id: "nope") { id } }')).error("BAD_USER_INPUT")
    (await client.execute(ME)).error("UNAUTHENTICATED")
    (await client.execute("query($id: ID!) { user(id: $id) { id } }", {"id": bob.id})).error(
        "UNAUTHENTICATED"
    )


async def test_update_profile_validates_the_name(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    update = (
        "mutation($n: String!) { updateProfile(input: {displayName: $n}) { user { displayName } } }"
    )
    assert (await alice.client.execute(update, {"n": "  Alice A.  "})).ok()["updateProfile"][
        "user"
    ]["displayName"] == "Alice A."
    (await alice.client.execute(update, {"n": "x" * 65})).error("BAD_USER_INPUT")
    assert (await alice.client.execute(ME)).ok()["me"]["displayName"] == "Alice A."


SETTINGS = "query($v: Int) { me { settings(newerThan: $v) { version data } } }"
REPLACE = """mutation($d: JSON!, $v: Int) { replaceSettings(input: {data: $d, expectedVersion: $v}) {
  settings { version data } } }"""


async def test_settings_are_versioned_and_fetched_only_when_newer(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    assert (await alice.client.execute(SETTINGS)).ok()["me"]["settings"] == {
        "version": 0,
        "data": {},
    }
    saved = (await alice.client.execute(REPLACE, {"d": {"theme": "dark"}})).ok()["replaceSettings"][
        "settings"
    ]
    assert saved == {"version": 1, "data": {"theme": "dark"}}
    assert (await alice.client.execute(SETTINGS, {"v": 1})).ok()["me"]["settings"] is None
    assert (await alice.client.execute(SETTINGS, {"v": 0})).ok()["me"]["settings"]["version"] == 1


async def test_settings_replace_with_a_stale_version_is_a_conflict(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    (await alice.client.execute(REPLACE, {"d": {"a": 1}, "v": 0})).ok()
    (await alice.client.execute(REPLACE, {"d": {"a": 2}, "v": 0})).error("CONFLICT")
    assert (await alice.client.execute(SETTINGS)).ok()["me"]["settings"] == {
        "version": 1,
        "data": {"a": 1},
    }


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"settings_max_bytes": 1024}


async def test_settings_must_be_an_object_within_the_size_cap(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    (await alice.client.execute(REPLACE, {"d": [1, 2]})).error("BAD_USER_INPUT")
    (await alice.client.execute(REPLACE, {"d": {"blob": "x" * 2000}})).error("BAD_USER_INPUT")
    assert (await alice.client.execute(SETTINGS)).ok()["me"]["settings"]["version"] == 0


async def test_login_returns_working_tokens(client: GraphQLClient) -> None:
    user = await register(client)
    session = await login(client, user["email"])
    assert session["accessToken"] and session["refreshToken"]
    me = (await client.execute(ME, token=session["accessToken"])).ok()["me"]
    assert me["id"] == user["id"]
