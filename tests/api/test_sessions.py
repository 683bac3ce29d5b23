"""Sessions and credentials: tokens, refresh rotation with reuse detection, logout, password
reset and change, rate limits, and no account enumeration."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from typing import Any

import jwt
import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import LOGIN, PASSWORD, SignedUpUser, login, register, signed_up
from tests.support.guilds import make_world
from tests.support.server import RunningServer
from tests.support.statements import counted_statements

ME = "{ me { id } }"
REFRESH = """mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
  session { accessToken refreshToken sessionId } } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""


def forge(
    server: RunningServer, user: SignedUpUser, *, key: str | None = None, **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": server.settings.jwt_issuer,
        "aud": server.settings.jwt_audience,
        "sub": user.id,
        "sid": user.session_id,
        "typ": "access",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    secret = key or server.settings.signing_secret()
    return jwt.encode(body, secret, algorithm="HS256")


async def test_a_correctly_signed_token_is_accepted(
    client: GraphQLClient, server: RunningServer
) -> None:
    user = await signed_up(client)
    assert (await client.execute(ME, token=forge(server, user))).ok()["me"]["id"] == user.id


@pytest.mark.parametrize(
    "variant",
    ["expired", "wrong-key", "wrong-issuer", "wrong-audience", "not-access", "alg-none", "garbage"],
)
async def test_bad_tokens_are_unauthenticated(
    client: GraphQLClient, server: RunningServer, variant: str
) -> None:
    user = await signed_up(client)
    now = int(time.time())
    token = {
        "expired": lambda: forge(server, user, iat=now - 1000, exp=now - 10),
        "wrong-key": lambda: forge(server, user, key="another-key-that-is-long-enough-0123456789"),
        "wrong-issuer": lambda: forge(server, user, iss="someone-else"),
        "wrong-audience": lambda: forge(server, user, aud="another-api"),
        "not-access": lambda: forge(server, user, typ="refresh"),
        "alg-none": lambda: _alg_none(server, user),
        "garbage": lambda: "not.a.token",
    }[variant]()
    (await client.execute(ME, token=token)).error("UNAUTHENTICATED")


def _alg_none(server: RunningServer, user: SignedUpUser) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": server.settings.jwt_issuer,
        "aud": server.settings.jwt_audience,
        "sub": user.id,
        "sid": user.session_id,
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def test_refresh_token_is_not_an_access_token(client: GraphQLClient) -> None:
    user = await signed_up(client)
    (await client.execute(ME, token=user.refresh_token)).error("UNAUTHENTICATED")


async def test_refresh_rotates_and_reuse_of_an_old_token_ends_the_session(
    client: GraphQLClient,
) -> None:
    user = await signed_up(client)
    rotated = (await client.execute(REFRESH, {"t": user.refresh_token})).ok()["refreshSession"][
        "session"
    ]
    assert rotated["sessionId"] == user.session_id and rotated["refreshToken"] != user.refresh_token
    assert (await client.execute(ME, token=rotated["accessToken"])).ok()["me"]["id"] == user.id
    # Replaying the first token: the whole family is revoked, the fresh pair included.
    (await client.execute(REFRESH, {"t": user.refresh_token})).error("UNAUTHENTICATED")
    (await client.execute(REFRESH, {"t": rotated["refreshToken"]})).error("UNAUTHENTICATED")
    (await client.execute(ME, token=rotated["accessToken"])).error("UNAUTHENTICATED")
    (await client.execute(ME, token=user.token)).error("UNAUTHENTICATED")


async def test_two_concurrent_refreshes_with_one_token_let_exactly_one_through(
    client: GraphQLClient,
) -> None:
    user = await signed_up(client)
    results = await asyncio.gather(
        *(client.execute(REFRESH, {"t": user.refresh_token}) for _ in range(2))
    )
    assert sorted(r.codes[0] if r.errors else "OK" for r in results) == ["OK", "UNAUTHENTICATED"]


async def test_unknown_refresh_token_is_refused(client: GraphQLClient) -> None:
    (await client.execute(REFRESH, {"t": "made-up"})).error("UNAUTHENTICATED")


async def test_logout_ends_only_that_session_at_once(client: GraphQLClient) -> None:
    user = await signed_up(client)
    other = await login(client, user.email)
    (await user.client.execute("mutation { logout { ok } }")).ok()
    (await user.client.execute(ME)).error("UNAUTHENTICATED")
    (await client.execute(REFRESH, {"t": user.refresh_token})).error("UNAUTHENTICATED")
    assert (await client.execute(ME, token=other["accessToken"])).ok()["me"]["id"] == user.id


async def test_a_users_own_events_keep_their_session_cached_unless_they_end_it(
    client: GraphQLClient, server: RunningServer
) -> None:
    # Every send moves its author's read marker: an event on the author's own subject. Only
    # a revocation may drop the sessions this process trusts, or every request after a send
    # read the session again.
    world = await make_world(client)
    owner = world.owner.client
    (await owner.execute(SEND, {"c": world.text_id, "t": "hello"})).ok()
    with counted_statements(server) as seen:
        (await owner.execute(ME)).ok()
    assert not [s for s in seen if "FROM sessions" in s], seen


class TestSessionCache:
    """A process trusts a session it found live for GOCHAT_SESSION_CACHE_SECONDS; its own
    logouts take effect at once (above), one made elsewhere within that time."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"session_cache_seconds": 0.3}

    async def test_a_session_ended_by_another_process_is_refused_within_the_cache_time(
        self, client: GraphQLClient, server: RunningServer
    ) -> None:
        from sqlalchemy import update

        from gochat.storage.sql.tables import sessions

        user = await signed_up(client)
        (await user.client.execute(ME)).ok()
        # Another process ended the session: the row changed, this process published nothing.
        engine = server.services.store.engines.write  # type: ignore[attr-defined]
        async with engine.begin() as conn:
            await conn.execute(
                update(sessions)
                .where(sessions.c.id == int(user.session_id))
                .values(revoked_at=sessions.c.created_at)
            )
        await asyncio.sleep(0.4)
        (await user.client.execute(ME)).error("UNAUTHENTICATED")


async def test_logout_all_sessions_ends_every_session(client: GraphQLClient) -> None:
    user = await signed_up(client)
    other = await login(client, user.email)
    count = (await user.client.execute("mutation { logoutAllSessions { revokedSessions } }")).ok()
    assert count["logoutAllSessions"]["revokedSessions"] == 2
    (await client.execute(ME, token=other["accessToken"])).error("UNAUTHENTICATED")
    (await user.client.execute(ME)).error("UNAUTHENTICATED")


async def test_wrong_password_and_unknown_email_get_the_same_answer(client: GraphQLClient) -> None:
    user = await register(client)
    wrong = await client.execute(
        LOGIN, {"input": {"email": user["email"], "password": "wrong password"}}
    )
    unknown = await client.execute(
        LOGIN, {"input": {"email": "nobody@example.com", "password": "wrong password"}}
    )
    malformed = await client.execute(
        LOGIN, {"input": {"email": "nobody", "password": "wrong password"}}
    )
    assert wrong.error("UNAUTHENTICATED")["message"] == unknown.error("UNAUTHENTICATED")["message"]
    assert malformed.error("UNAUTHENTICATED")["message"] == wrong.errors[0]["message"]


RESET_REQUEST = "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }"
RESET = "mutation($t: String!, $p: String!) { resetPassword(input: {token: $t, newPassword: $p}) { ok } }"


def reset_token(server: RunningServer, to: str) -> str:
    mails = [m for m in server.services.mail.outbox if m.to == to and "Reset" in m.subject]  # type: ignore[attr-defined]
    match = re.search(r"token: (\S+)\)", mails[-1].text)
    assert match
    return match.group(1)


async def test_password_reset_does_not_reveal_accounts_and_mails_only_real_ones(
    client: GraphQLClient, server: RunningServer
) -> None:
    user = await register(client)
    known = (await client.execute(RESET_REQUEST, {"e": user["email"]})).ok()
    unknown = (await client.execute(RESET_REQUEST, {"e": "ghost@example.com"})).ok()
    assert known == unknown == {"requestPasswordReset": {"ok": True}}
    recipients = [m.to for m in server.services.mail.outbox if "Reset" in m.subject]  # type: ignore[attr-defined]
    assert recipients == [user["email"]]


async def test_reset_password_sets_it_once_and_ends_every_session(
    client: GraphQLClient, server: RunningServer
) -> None:
    user = await signed_up(client)
    (await client.execute(RESET_REQUEST, {"e": user.email})).ok()
    token = reset_token(server, user.email)
    (await client.execute(RESET, {"t": token, "p": "short"})).error("BAD_USER_INPUT")
    (await client.execute(RESET, {"t": token, "p": "a brand new password"})).ok()
    (await client.execute(RESET, {"t": token, "p": "another new password"})).error("BAD_USER_INPUT")
    (await client.execute(RESET, {"t": "garbage", "p": "another new password"})).error(
        "BAD_USER_INPUT"
    )
    (await user.client.execute(ME)).error("UNAUTHENTICATED")
    (await client.execute(LOGIN, {"input": {"email": user.email, "password": PASSWORD}})).error(
        "UNAUTHENTICATED"
    )
    await login(client, user.email, "a brand new password")


CHANGE = """mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { ok } }"""


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    client: GraphQLClient,
) -> None:
    user = await signed_up(client)
    other = await login(client, user.email)
    (await user.client.execute(CHANGE, {"c": "not my password", "n": "a new password 1"})).error(
        "BAD_USER_INPUT"
    )
    (await client.execute(ME, token=other["accessToken"])).ok()
    (await user.client.execute(CHANGE, {"c": PASSWORD, "n": "a new password 1"})).ok()
    (await user.client.execute(ME)).ok()
    (await client.execute(ME, token=other["accessToken"])).error("UNAUTHENTICATED")
    await login(client, user.email, "a new password 1")


class TestRateLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {
            "rate_login_per_account": "3/60",
            "rate_register_per_ip": "2/60",
            "rate_reset_per_account": "1/60",
        }

    async def test_login_attempts_per_account_are_limited(self, client: GraphQLClient) -> None:
        user = await register(client)
        bad = {"input": {"email": user["email"], "password": "wrong password"}}
        for _ in range(3):
            (await client.execute(LOGIN, bad)).error("UNAUTHENTICATED")
        limited = (await client.execute(LOGIN, bad)).error("RATE_LIMITED")
        assert 0 < limited["extensions"]["retryAfterSeconds"] <= 60
        # The right password is refused too while limited: guessing gains nothing.
        (
            await client.execute(LOGIN, {"input": {"email": user["email"], "password": PASSWORD}})
        ).error("RATE_LIMITED")

    async def test_registrations_per_address_are_limited(self, client: GraphQLClient) -> None:
        await register(client)
        await register(client)
        from tests.support.factories import REGISTER

        third = {
            "input": {
                "email": "third@example.com",
                "handle": "third",
                "displayName": "T",
                "password": PASSWORD,
            }
        }
        (await client.execute(REGISTER, third)).error("RATE_LIMITED")

    async def test_reset_requests_per_account_are_limited(self, client: GraphQLClient) -> None:
        user = await register(client)
        (await client.execute(RESET_REQUEST, {"e": user["email"]})).ok()
        (await client.execute(RESET_REQUEST, {"e": user["email"]})).error("RATE_LIMITED")
