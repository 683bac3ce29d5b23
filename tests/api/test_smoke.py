from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up


async def test_registered_user_sees_themselves_through_me(client: GraphQLClient) -> None:
    alice = await signed_up(client, handle="alice")
    me = (await alice.client.execute("{ me { id handle emailVerified } }")).ok()["me"]
    assert me == {"id": alice.id, "handle": "alice", "emailVerified": False}
