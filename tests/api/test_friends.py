"""Friend requests by handle, accepting, declining, cancelling, removing, and blocks."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up

REQUEST = "mutation($h: String!) { sendFriendRequest(input: {handle: $h}) { friends request { user { id } } } }"
ACCEPT = "mutation($u: ID!) { acceptFriendRequest(input: {userId: $u}) { userId } }"
DECLINE = "mutation($u: ID!) { declineFriendRequest(input: {userId: $u}) { userId } }"
CANCEL = "mutation($u: ID!) { cancelFriendRequest(input: {userId: $u}) { userId } }"
REMOVE = "mutation($u: ID!) { removeFriend(input: {userId: $u}) { userId } }"
BLOCK = "mutation($u: ID!) { blockUser(input: {userId: $u}) { userId } }"
STATE = "{ me { friends { id } blockedUsers { id } friendRequests { incoming { user { id } } outgoing { user { id } } } } }"


async def test_request_accept_and_remove(client: GraphQLClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    sent = (await alice.client.execute(REQUEST, {"h": bob.handle.upper()})).ok()[
        "sendFriendRequest"
    ]
    assert sent == {"friends": False, "request": {"user": {"id": bob.id}}}
    assert (await bob.client.execute(STATE)).ok()["me"]["friendRequests"]["incoming"] == [
        {"user": {"id": alice.id}}
    ]
    (await alice.client.execute(REQUEST, {"h": bob.handle})).error("CONFLICT")
    (await alice.client.execute(ACCEPT, {"u": bob.id})).error(
        "NOT_FOUND"
    )  # only the recipient accepts
    (await bob.client.execute(ACCEPT, {"u": alice.id})).ok()
    assert (await alice.client.execute(STATE)).ok()["me"]["friends"] == [{"id": bob.id}]
    (await alice.client.execute(REQUEST, {"h": bob.handle})).error("CONFLICT")
    (await bob.client.execute(REMOVE, {"u": alice.id})).ok()
    assert (await alice.client.execute(STATE)).ok()["me"]["friends"] == []
    (await bob.client.execute(REMOVE, {"u": alice.id})).error("NOT_FOUND")


async def test_crossing_requests_make_friends(client: GraphQLClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    (await alice.client.execute(REQUEST, {"h": bob.handle})).ok()
    crossed = (await bob.client.execute(REQUEST, {"h": alice.handle})).ok()["sendFriendRequest"]
    assert crossed == {"friends": True, "request": None}
    assert (await bob.client.execute(STATE)).ok()["me"]["friends"] == [{"id": alice.id}]


async def test_decline_and_cancel(client: GraphQLClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    (await alice.client.execute(REQUEST, {"h": bob.handle})).ok()
    (await bob.client.execute(DECLINE, {"u": alice.id})).ok()
    assert (await alice.client.execute(STATE)).ok()["me"]["friendRequests"]["outgoing"] == []
    (await alice.client.execute(REQUEST, {"h": bob.handle})).ok()
    (await alice.client.execute(CANCEL, {"u": bob.id})).ok()
    (await bob.client.execute(DECLINE, {"u": alice.id})).error("NOT_FOUND")


async def test_bad_requests(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    (await alice.client.execute(REQUEST, {"h": alice.handle})).error("BAD_USER_INPUT")
    (await alice.client.execute(REQUEST, {"h": "no-such-handle"})).error("NOT_FOUND")
    (await alice.client.execute(REQUEST, {"h": "!!"})).error("NOT_FOUND")


async def test_blocking_ends_the_friendship_and_stops_requests(client: GraphQLClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    (await alice.client.execute(REQUEST, {"h": bob.handle})).ok()
    (await bob.client.execute(ACCEPT, {"u": alice.id})).ok()
    (await alice.client.execute(BLOCK, {"u": bob.id})).ok()
    state = (await alice.client.execute(STATE)).ok()["me"]
    assert state["friends"] == [] and state["blockedUsers"] == [{"id": bob.id}]
    (await bob.client.execute(REQUEST, {"h": alice.handle})).error("FORBIDDEN")
    (await alice.client.execute(REQUEST, {"h": bob.handle})).error("FORBIDDEN")
    (await alice.client.execute(BLOCK, {"u": alice.id})).error("BAD_USER_INPUT")


async def test_a_blocker_is_not_notified_of_mentions_by_the_blocked(client: GraphQLClient) -> None:
    from tests.support.guilds import make_world

    w = await make_world(client)
    (await w.owner.client.execute(BLOCK, {"u": w.member.id})).ok()
    send = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { mentions { userIds } } } }"
    sent = (await w.member.client.execute(send, {"c": w.text_id, "t": f"hey <@{w.owner.id}>"})).ok()
    assert sent["sendMessage"]["message"]["mentions"]["userIds"] == []
    assert (await w.owner.client.execute("{ me { mentions { edges { node { id } } } } }")).ok()[
        "me"
    ]["mentions"]["edges"] == []
