"""An account's lifecycle through GraphQL: changing the email (confirmed by the new address,
noticed to the old), deleting the account (nothing left to sign in with, no socket left open,
messages and DMs kept under a placeholder, refused while owning guilds)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from gochat.domain.records import CHANGE_EMAIL
from gochat.storage.sql.tables import one_time_tokens
from tests.support.client import GraphQLClient, close_code, ws_connect
from tests.support.factories import LOGIN, PASSWORD, REGISTER, register, signed_up
from tests.support.guilds import make_world
from tests.support.server import RunningServer

REQUEST_CHANGE = """mutation($e: String!, $p: String!) {
  requestEmailChange(input: {newEmail: $e, password: $p}) { ok } }"""
CONFIRM_CHANGE = """mutation($t: String!) {
  confirmEmailChange(input: {token: $t}) { user { email emailVerified } } }"""
DELETE = "mutation($p: String!) { deleteAccount(input: {password: $p}) { ok } }"
ME = "{ me { id email emailVerified } }"
REFRESH = """mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
  session { refreshToken } } }"""
SEND = """mutation($c: ID!, $t: String!) {
  sendMessage(input: {channelId: $c, content: $t}) { message { id } } }"""
HISTORY = """query($c: ID!) { channel(id: $c) { ... on TextChannel {
  messages(last: 50) { edges { node { content author { id handle displayName deleted } } } } } } }"""
OPEN_DM = "mutation($u: ID!) { openDirectMessage(input: {userId: $u}) { channel { id } } }"
DMS = """{ me { directMessageChannels { id
  messages(last: 10) { edges { node { content author { deleted } } } } } } }"""
FRIEND = "mutation($h: String!) { sendFriendRequest(input: {handle: $h}) { friends } }"
ACCEPT = "mutation($u: ID!) { acceptFriendRequest(input: {userId: $u}) { userId } }"
FRIENDS = "{ me { friends { id } friendRequests { incoming { user { id } } } } }"
MEMBERS = """query($g: ID!) { guild(id: $g) { memberCount } }"""
EVENTS = """subscription { events { __typename
  ... on MemberRemoved { guildId userId }
  ... on FriendRemoved { friendId } } }"""
TOKEN = re.compile(r"\?token=(\S+)")


def mails(server: RunningServer, to: str, subject: str) -> list[str]:
    outbox = server.services.mail.outbox  # type: ignore[attr-defined]
    return [m.text for m in outbox if m.to == to and subject in m.subject]


def token_in(text: str) -> str:
    match = TOKEN.search(text)
    assert match, text
    return match.group(1)


async def test_email_change_applies_once_the_new_address_confirms(
    client: GraphQLClient, server: RunningServer
) -> None:
    alice = await signed_up(client)
    new = f"new-{alice.handle}@example.org"
    (await alice.client.execute(REQUEST_CHANGE, {"e": new.upper(), "p": PASSWORD})).ok()
    notice = mails(server, alice.email, "about to change")
    assert len(notice) == 1 and new in notice[0]
    token = token_in(mails(server, new, "Confirm your new GoChat email")[0])
    # Nothing changed before the new address answered.
    assert (await alice.client.execute(ME)).ok()["me"]["email"] == alice.email

    changed = (await client.execute(CONFIRM_CHANGE, {"t": token})).ok()
    assert changed["confirmEmailChange"]["user"] == {"email": new, "emailVerified": True}
    assert mails(server, alice.email, "was changed")
    login_new = await client.execute(LOGIN, {"input": {"email": new, "password": PASSWORD}})
    assert login_new.ok()["login"]["session"]["accessToken"]
    login_old = await client.execute(LOGIN, {"input": {"email": alice.email, "password": PASSWORD}})
    assert login_old.codes == ["UNAUTHENTICATED"]
    # The token works once.
    again = await client.execute(CONFIRM_CHANGE, {"t": token})
    assert again.codes == ["BAD_USER_INPUT"]
    assert again.error("BAD_USER_INPUT")["extensions"]["field"] == "token"
    # The old address is free again.
    await register(client, email=alice.email)


async def test_email_change_needs_the_password_and_a_free_address(client: GraphQLClient) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client)
    wrong = await alice.client.execute(REQUEST_CHANGE, {"e": "x@example.org", "p": "not it at all"})
    assert wrong.codes == ["BAD_USER_INPUT"]
    assert wrong.error("BAD_USER_INPUT")["extensions"]["field"] == "password"
    taken = await alice.client.execute(REQUEST_CHANGE, {"e": bob.email, "p": PASSWORD})
    assert taken.codes == ["CONFLICT"]
    bad = await alice.client.execute(REQUEST_CHANGE, {"e": "not an email", "p": PASSWORD})
    assert bad.codes == ["BAD_USER_INPUT"]
    assert bad.error("BAD_USER_INPUT")["extensions"]["field"] == "newEmail"
    signed_out = await client.execute(REQUEST_CHANGE, {"e": "y@example.org", "p": PASSWORD})
    assert signed_out.codes == ["UNAUTHENTICATED"]
    assert (await alice.client.execute(ME)).ok()["me"]["email"] == alice.email


async def test_an_expired_email_change_token_is_refused(
    client: GraphQLClient, server: RunningServer
) -> None:
    alice = await signed_up(client)
    new = f"late-{alice.handle}@example.org"
    (await alice.client.execute(REQUEST_CHANGE, {"e": new, "p": PASSWORD})).ok()
    token = token_in(mails(server, new, "Confirm your new")[0])
    engine = server.services.store.engines.write  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(
            update(one_time_tokens)
            .where(one_time_tokens.c.purpose == CHANGE_EMAIL)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    late = await client.execute(CONFIRM_CHANGE, {"t": token})
    assert late.error("BAD_USER_INPUT")["extensions"]["field"] == "token"
    assert (await alice.client.execute(ME)).ok()["me"]["email"] == alice.email


async def test_an_address_taken_meanwhile_refuses_the_second_confirmation(
    client: GraphQLClient, server: RunningServer
) -> None:
    alice = await signed_up(client)
    bob = await signed_up(client)
    wanted = f"wanted-{alice.handle}@example.org"
    for user in (alice, bob):
        (await user.client.execute(REQUEST_CHANGE, {"e": wanted, "p": PASSWORD})).ok()
    first, second = (token_in(t) for t in mails(server, wanted, "Confirm your new"))
    (await client.execute(CONFIRM_CHANGE, {"t": first})).ok()
    refused = await client.execute(CONFIRM_CHANGE, {"t": second})
    assert refused.codes == ["CONFLICT"]
    assert (await bob.client.execute(ME)).ok()["me"]["email"] == bob.email


async def test_the_mailed_email_change_link_opens_a_page_that_applies_it(
    client: GraphQLClient, server: RunningServer
) -> None:
    alice = await signed_up(client)
    new = f"page-{alice.handle}@example.org"
    (await alice.client.execute(REQUEST_CHANGE, {"e": new, "p": PASSWORD})).ok()
    body = mails(server, new, "Confirm your new")[0]
    link = re.search(r"(https?://\S+/confirm-email-change\?token=\S+)", body)
    assert link, body
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(link.group(1))
        assert page.status_code == 200, page.text
        assert new in page.text
        used = await http.get(link.group(1))
        assert used.status_code == 400
    assert (await alice.client.execute(ME)).ok()["me"]["email"] == new


async def test_an_owner_cannot_delete_their_account_until_the_guild_is_handed_over(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    refused = await w.owner.client.execute(DELETE, {"p": PASSWORD})
    assert refused.codes == ["CONFLICT"]
    assert refused.error("CONFLICT")["extensions"]["reason"] == "OWNS_GUILDS"
    assert (await w.owner.client.execute(ME)).ok()["me"]["id"] == w.owner.id
    wrong = await w.member.client.execute(DELETE, {"p": "not the password"})
    assert wrong.codes == ["BAD_USER_INPUT"]
    assert wrong.error("BAD_USER_INPUT")["extensions"]["field"] == "password"
    assert (await w.member.client.execute(ME)).ok()["me"]["id"] == w.member.id


async def test_deleting_an_account_leaves_no_way_in_and_keeps_what_others_see(
    client: GraphQLClient,
) -> None:
    w = await make_world(client)
    member, owner = w.member, w.owner
    (await member.client.execute(SEND, {"c": w.text_id, "t": "hello from member"})).ok()
    dm = (await owner.client.execute(OPEN_DM, {"u": member.id})).ok()["openDirectMessage"]
    (await owner.client.execute(SEND, {"c": dm["channel"]["id"], "t": "dm to member"})).ok()
    (await member.client.execute(SEND, {"c": dm["channel"]["id"], "t": "dm to owner"})).ok()
    (await member.client.execute(FRIEND, {"h": owner.handle})).ok()
    (await owner.client.execute(ACCEPT, {"u": member.id})).ok()
    outsider = w.outsider
    (await member.client.execute(FRIEND, {"h": outsider.handle})).ok()
    before = (await owner.client.execute(MEMBERS, {"g": w.guild_id})).ok()["guild"]["memberCount"]

    # A second session of the member, on another device: it ends too.
    other_device = (
        await client.execute(LOGIN, {"input": {"email": member.email, "password": PASSWORD}})
    ).ok()["login"]["session"]
    member_socket = {"authorization": f"Bearer {member.token}"}
    other_socket = {"authorization": f"Bearer {other_device['accessToken']}"}
    owner_socket = {"authorization": f"Bearer {owner.token}"}
    async with (
        ws_connect(client.ws_url, payload=member_socket) as mine,
        ws_connect(client.ws_url, payload=other_socket) as elsewhere,
        ws_connect(client.ws_url, payload=owner_socket) as theirs,
    ):
        watching = await theirs.subscribe(EVENTS)
        await theirs.barrier()
        (await member.client.execute(DELETE, {"p": PASSWORD})).ok()
        assert await close_code(mine.socket) == 4401
        assert await close_code(elsewhere.socket) == 4401
        seen = set()
        while len(seen) < 2:
            event = (await theirs.receive(watching))["payload"]["data"]["events"]
            seen.add(event["__typename"])
            if event["__typename"] == "MemberRemoved":
                assert event == {
                    "__typename": "MemberRemoved",
                    "guildId": w.guild_id,
                    "userId": member.id,
                }
            else:
                assert event == {"__typename": "FriendRemoved", "friendId": member.id}

    # No way back in: the token, the refresh token, the password.
    assert (await member.client.execute(ME)).codes == ["UNAUTHENTICATED"]
    for refresh_token in (member.refresh_token, other_device["refreshToken"]):
        refresh = await client.execute(REFRESH, {"t": refresh_token})
        assert refresh.codes == ["UNAUTHENTICATED"]
    assert (await client.as_user(other_device["accessToken"]).execute(ME)).codes == [
        "UNAUTHENTICATED"
    ]
    login = await client.execute(LOGIN, {"input": {"email": member.email, "password": PASSWORD}})
    assert login.codes == ["UNAUTHENTICATED"]
    # What others see: messages under the placeholder, the DM, no membership or friendship.
    history = (await owner.client.execute(HISTORY, {"c": w.text_id})).ok()
    authored = [
        e["node"]
        for e in history["channel"]["messages"]["edges"]
        if e["node"]["content"] == "hello from member"
    ]
    assert authored == [
        {
            "content": "hello from member",
            "author": {
                "id": member.id,
                "handle": f"deleted-{member.id}",
                "displayName": "Deleted User",
                "deleted": True,
            },
        }
    ]
    dms = (await owner.client.execute(DMS)).ok()["me"]["directMessageChannels"]
    kept = next(c for c in dms if c["id"] == dm["channel"]["id"])
    assert [e["node"] for e in kept["messages"]["edges"]] == [
        {"content": "dm to member", "author": {"deleted": False}},
        {"content": "dm to owner", "author": {"deleted": True}},
    ]
    after = (await owner.client.execute(MEMBERS, {"g": w.guild_id})).ok()["guild"]["memberCount"]
    assert after == before - 1
    assert (await owner.client.execute(FRIENDS)).ok()["me"]["friends"] == []
    incoming = (await outsider.client.execute(FRIENDS)).ok()["me"]["friendRequests"]["incoming"]
    assert incoming == []
    # Nobody can befriend the placeholder or take its name.
    befriend = await outsider.client.execute(FRIEND, {"h": f"deleted-{member.id}"})
    assert befriend.codes == ["NOT_FOUND"]
    taken = await client.execute(
        REGISTER,
        {
            "input": {
                "email": "someone@example.org",
                "handle": "deleted-1",
                "displayName": "Someone",
                "password": PASSWORD,
            }
        },
    )
    assert taken.error("BAD_USER_INPUT")["extensions"]["field"] == "handle"
    # The email is free for a new account.
    await register(client, email=member.email)


async def test_signed_out_callers_cannot_change_an_email_or_delete_an_account(
    client: GraphQLClient, server: RunningServer
) -> None:
    alice = await signed_up(client)
    asked = await client.execute(REQUEST_CHANGE, {"e": "elsewhere@example.org", "p": PASSWORD})
    assert asked.codes == ["UNAUTHENTICATED"]
    assert (await client.execute(DELETE, {"p": PASSWORD})).codes == ["UNAUTHENTICATED"]
    assert mails(server, "elsewhere@example.org", "Confirm your new GoChat email") == []
    assert (await alice.client.execute(ME)).ok()["me"]["email"] == alice.email
