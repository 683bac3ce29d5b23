"""RATE_LIMITED answers say how long to wait: the longest of the limits that apply, in whole
seconds rounded up (a client that waits that long is let through)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import register

LOGIN = """mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }"""


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_login_per_ip": "4/60", "rate_login_per_account": "2/300"}


async def test_a_locked_account_reports_its_own_longer_wait_when_the_address_is_limited_too(
    client: GraphQLClient,
) -> None:
    user = await register(client)
    bad = {"i": {"email": user["email"], "password": "wrong password"}}
    for _ in range(2):
        (await client.execute(LOGIN, bad)).error("UNAUTHENTICATED")
    waits = []
    for _ in range(4):  # the account is locked at once; the address after two more tries
        limited = (await client.execute(LOGIN, bad)).error("RATE_LIMITED")
        waits.append(limited["extensions"]["retryAfterSeconds"])
    assert all(isinstance(w, int) for w in waits), waits
    assert all(240 < w <= 300 for w in waits), waits
