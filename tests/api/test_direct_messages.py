"""DMs and group DMs: one channel per pair, participants only, limits, ordering, blocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.factories import signed_up


@pytest.fixture(params=["sql-messages", "cql-messages"])
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Messages on the SQL database, and on a real Cassandra node."""
    if request.param == "cql-messages":
        return {"messages_url": request.getfixturevalue("cassandra_url")}
    return {}


OPEN = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id type recipients { id } } } }"
GROUP = "mutation($u: [ID!]!, $n: String) { createGroupDirectMessage(input: {userIds: $u, name: $n}) { channel { id type ownerId recipients { id } } } }"
ADD = "mutation($c: ID!, $u: ID!) { addGroupRecipient(input: {channelId: $c, userId: $u}) { channel { recipients { id } } } }"
REMOVE = "mutation($c: ID!, $u: ID!) { removeGroupRecipient(input: {channelId: $c, userId: $u}) { channel { recipients { id } } } }"
LEAVE = "mutation($c: ID!) { leaveGroupDirectMessage(input: {channelId: $c}) { channelId } }"
SEND = "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id mentions { userIds } } } }"
HISTORY = (
    "query($c: ID!) { directMessageChannel(id: $c) { messages { edges { node { content } } } } }"
)
BLOCK = "mutation($u: ID!) { blockUser(input: {userId: $u}) { userId } }"
UNBLOCK = "mutation($u: ID!) { unblockUser(input: {userId: $u}) { userId } }"


async def test_open_returns_the_one_channel_of_a_pair_even_when_racing(
    client: GraphQLClient,
) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    results = await asyncio.gather(
        *(alice.client.execute(OPEN, {"u": bob.id}) for _ in range(3)),
        bob.client.execute(OPEN, {"u": alice.id}),
    )
    ids = {r.ok()["openDirectMessage"]["channel"]["id"] for r in results}
    assert len(ids) == 1
    channel = results[0].ok()["openDirectMessage"]["channel"]
    assert channel["type"] == "DM" and sorted(r["id"] for r in channel["recipients"]) == sorted(
        [alice.id, bob.id]
    )
    (await alice.client.execute(OPEN, {"u": alice.id})).error("BAD_USER_INPUT")
    (await alice.client.execute(OPEN, {"u": "4242"})).error("NOT_FOUND")


async def test_only_participants_read_and_write(client: GraphQLClient) -> None:
    alice, bob, eve = await signed_up(client), await signed_up(client), await signed_up(client)
    channel = (await alice.client.execute(OPEN, {"u": bob.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    sent = (
        await alice.client.execute(SEND, {"c": channel, "t": f"hi <@{bob.id}> and <@{eve.id}>"})
    ).ok()["sendMessage"]["message"]
    assert sent["mentions"]["userIds"] == [bob.id]  # eve is not in the channel
    assert (await bob.client.execute(HISTORY, {"c": channel})).ok()["directMessageChannel"][
        "messages"
    ]["edges"] == [{"node": {"content": f"hi <@{bob.id}> and <@{eve.id}>"}}]
    (await eve.client.execute(HISTORY, {"c": channel})).error("NOT_FOUND")
    (await eve.client.execute(SEND, {"c": channel, "t": "let me in"})).error("NOT_FOUND")
    (
        await eve.client.execute("query($m: ID!) { message(id: $m) { id } }", {"m": sent["id"]})
    ).error("NOT_FOUND")
    # Nobody manages others' messages in a DM.
    (
        await bob.client.execute(
            "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { messageId } }",
            {"m": sent["id"]},
        )
    ).error("FORBIDDEN")


async def test_blocked_users_cannot_message_or_open_a_dm(client: GraphQLClient) -> None:
    alice, bob = await signed_up(client), await signed_up(client)
    channel = (await alice.client.execute(OPEN, {"u": bob.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    (await alice.client.execute(BLOCK, {"u": bob.id})).ok()
    (await bob.client.execute(SEND, {"c": channel, "t": "hello?"})).error("FORBIDDEN")
    (await alice.client.execute(SEND, {"c": channel, "t": "bye"})).error("FORBIDDEN")
    (await bob.client.execute(OPEN, {"u": alice.id})).error("FORBIDDEN")
    (await bob.client.execute(GROUP, {"u": [alice.id]})).error("FORBIDDEN")
    assert (await bob.client.execute(HISTORY, {"c": channel})).ok()["directMessageChannel"][
        "messages"
    ]["edges"] == []
    (await alice.client.execute(UNBLOCK, {"u": bob.id})).ok()
    (await bob.client.execute(SEND, {"c": channel, "t": "hello again"})).ok()


async def test_group_limits_owner_rules_and_leaving(client: GraphQLClient) -> None:
    owner = await signed_up(client)
    others = [await signed_up(client) for _ in range(10)]
    (await owner.client.execute(GROUP, {"u": [o.id for o in others]})).error(
        "BAD_USER_INPUT"
    )  # 11 people
    group = (
        await owner.client.execute(GROUP, {"u": [o.id for o in others[:8]], "n": "Crew"})
    ).ok()["createGroupDirectMessage"]["channel"]
    assert (
        group["type"] == "GROUP_DM"
        and group["ownerId"] == owner.id
        and len(group["recipients"]) == 9
    )
    (await others[0].client.execute(ADD, {"c": group["id"], "u": others[8].id})).error("FORBIDDEN")
    (await owner.client.execute(ADD, {"c": group["id"], "u": others[8].id})).ok()
    (await owner.client.execute(ADD, {"c": group["id"], "u": others[9].id})).error(
        "BAD_USER_INPUT"
    )  # would be 11
    (await owner.client.execute(ADD, {"c": group["id"], "u": others[8].id})).error("BAD_USER_INPUT")
    removed = (await owner.client.execute(REMOVE, {"c": group["id"], "u": others[8].id})).ok()[
        "removeGroupRecipient"
    ]["channel"]
    assert others[8].id not in [r["id"] for r in removed["recipients"]]
    (await others[8].client.execute(HISTORY, {"c": group["id"]})).error("NOT_FOUND")
    (await owner.client.execute(LEAVE, {"c": group["id"]})).ok()
    new_owner = (
        await others[0].client.execute(
            "query($c: ID!) { directMessageChannel(id: $c) { ownerId } }", {"c": group["id"]}
        )
    ).ok()
    assert new_owner["directMessageChannel"]["ownerId"] != owner.id


async def test_channels_are_listed_by_latest_message(client: GraphQLClient) -> None:
    alice, bob, carol = await signed_up(client), await signed_up(client), await signed_up(client)
    with_bob = (await alice.client.execute(OPEN, {"u": bob.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    with_carol = (await alice.client.execute(OPEN, {"u": carol.id})).ok()["openDirectMessage"][
        "channel"
    ]["id"]
    (await alice.client.execute(SEND, {"c": with_carol, "t": "first"})).ok()
    (await alice.client.execute(SEND, {"c": with_bob, "t": "second"})).ok()
    listed = (await alice.client.execute("{ me { directMessageChannels { id } } }")).ok()["me"][
        "directMessageChannels"
    ]
    assert [c["id"] for c in listed] == [with_bob, with_carol]
    (await alice.client.execute(SEND, {"c": with_carol, "t": "third"})).ok()
    listed = (await alice.client.execute("{ me { directMessageChannels { id } } }")).ok()["me"][
        "directMessageChannels"
    ]
    assert [c["id"] for c in listed] == [with_carol, with_bob]
