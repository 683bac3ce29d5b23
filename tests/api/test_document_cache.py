"""Documents too long to keep between requests (gochat/schema/document_cache.py) meet the same
limits and checks, request after request, as the short ones that are kept."""

from __future__ import annotations

from typing import Any

import pytest

from gochat.schema.document_cache import CACHED_DOCUMENT_MAX_CHARS
from tests.support.client import GraphQLClient
from tests.support.factories import signed_up

# A comment: characters that make a document long without adding a token.
PADDING = "# " + "x" * CACHED_DOCUMENT_MAX_CHARS + "\n"
DEEP = "{ me { guilds { channels { overwrites { channelId } } } } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"graphql_max_depth": 3}


@pytest.mark.parametrize("padding", ["", PADDING], ids=["kept", "too-long-to-keep"])
async def test_a_too_deep_query_is_refused_every_time(client: GraphQLClient, padding: str) -> None:
    user = await signed_up(client)
    messages = {
        (await user.client.execute(padding + DEEP)).error("BAD_USER_INPUT")["message"]
        for _ in range(2)
    }
    assert len(messages) == 1


@pytest.mark.parametrize("padding", ["", PADDING], ids=["kept", "too-long-to-keep"])
async def test_a_literal_with_a_nul_is_refused_every_time(
    client: GraphQLClient, padding: str
) -> None:
    for _ in range(2):
        (await client.execute(padding + '{ user(id: "a\\u0000b") { id } }')).error("BAD_USER_INPUT")


@pytest.mark.parametrize("padding", ["", PADDING], ids=["kept", "too-long-to-keep"])
async def test_a_valid_query_runs_every_time(client: GraphQLClient, padding: str) -> None:
    user = await signed_up(client)
    for _ in range(2):
        result = await user.client.execute(padding + "{ me { handle } }")
        assert result.errors == [] and result.data["me"]["handle"] == user.handle


@pytest.mark.parametrize("padding", ["", PADDING], ids=["kept", "too-long-to-keep"])
async def test_validation_errors_come_before_the_text_checks(
    client: GraphQLClient, padding: str
) -> None:
    query = padding + '{ user(id: "a\\u0000b") { noSuchField } }'
    for _ in range(2):
        error = (await client.execute(query)).error("BAD_USER_INPUT")
        assert "noSuchField" in error["message"]
