"""Access tokens: a verified token is remembered, but never past its expiry, and a forged one
never passes because a genuine one was seen."""

from __future__ import annotations

import time

import pytest

from gochat.errors import Unauthenticated
from gochat.ids import Snowflake
from gochat.security.tokens import AccessTokens


def tokens(ttl_seconds: int = 60, cache: int = 10_000) -> AccessTokens:
    return AccessTokens(
        secret="s" * 48,
        issuer="gochat",
        audience="gochat-api",
        ttl_seconds=ttl_seconds,
        verified_cache_size=cache,
    )


def test_a_verified_token_stops_working_when_it_expires() -> None:
    issuer = tokens(ttl_seconds=1)
    token, _ = issuer.issue(Snowflake(5), Snowflake(6))
    assert issuer.verify(token).user_id == 5  # verified once, then remembered
    time.sleep(2.1)  # exp has a resolution of one second
    with pytest.raises(Unauthenticated):
        issuer.verify(token)


def test_a_tampered_copy_of_a_remembered_token_is_refused() -> None:
    issuer = tokens()
    token, _ = issuer.issue(Snowflake(5), Snowflake(6))
    issuer.verify(token)
    head, body, signature = token.split(".")
    forged = ".".join((head, body, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    with pytest.raises(Unauthenticated):
        issuer.verify(forged)
    assert issuer.verify(token).session_id == 6


def test_remembered_tokens_are_bounded() -> None:
    issuer = tokens(cache=3)
    issued = [issuer.issue(Snowflake(n), Snowflake(n))[0] for n in range(1, 6)]
    for token in issued:
        issuer.verify(token)
    assert len(issuer._verified) == 3
    assert all(issuer.verify(t).user_id == n for n, t in enumerate(issued, start=1))
