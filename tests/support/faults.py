"""Counting what a fault did to messages, the same way for every engine.

A fault test sends messages through GraphQL (each with its own nonce) while it breaks an engine,
tallies how each send was answered, then reads the channel back and checks the guarantees:
every answer was a success or a retryable error, every acknowledged message is stored exactly
once, and (when a subscriber listened) delivered exactly once.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.client import GraphQLClient

SEND = """mutation($c: ID!, $t: String!, $n: String) {
  sendMessage(input: {channelId: $c, content: $t, nonce: $n}) { message { id content } created }
}"""
HISTORY = """query($c: ID!, $before: String) { channel(id: $c) { ... on TextChannel {
  messages(last: 100, before: $before) {
    edges { node { id content } } pageInfo { hasPreviousPage startCursor } } } } }"""

# What a client may be told while a dependency is away: try again later.
RETRYABLE_CODES = frozenset({"UNAVAILABLE"})
# WebSocket close codes that tell a client to reconnect: 1001 going away, 1012 service restart,
# 1013 try again later.
RETRY_CLOSE_CODES = frozenset({1001, 1012, 1013})


@dataclass
class SendTally:
    """How each send was answered. `acknowledged` maps content to the message id returned."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    retryable: list[str] = field(default_factory=list)  # content answered UNAVAILABLE
    lost_connection: list[str] = field(default_factory=list)  # no answer at all (process died)
    other: list[dict[str, Any]] = field(default_factory=list)  # anything else: a bug
    answer_seconds: list[float] = field(default_factory=list)

    def summary(self) -> str:
        codes = Counter(str(e.get("extensions", {}).get("code")) for e in self.other)
        return (
            f"acknowledged={len(self.acknowledged)} retryable={len(self.retryable)} "
            f"lost_connection={len(self.lost_connection)} other={dict(codes)} "
            f"slowest={max(self.answer_seconds, default=0):.2f}s"
        )

    def assert_only_success_or_retryable(self) -> None:
        assert not self.other, f"{self.summary()}; first: {self.other[:3]}"


def nonce_for(content: str) -> str:
    """The nonce a client would reuse when it retries this message."""
    return uuid.uuid5(uuid.NAMESPACE_OID, content).hex


async def send(client: GraphQLClient, channel_id: str, content: str, tally: SendTally) -> bool:
    """One send with its content-derived nonce, tallied; True when acknowledged."""
    begun = time.monotonic()
    try:
        result = await client.execute(
            SEND, {"c": channel_id, "t": content, "n": nonce_for(content)}
        )
    except httpx.TransportError:
        tally.lost_connection.append(content)
        return False
    finally:
        tally.answer_seconds.append(time.monotonic() - begun)
    if not result.errors and result.status == 200:
        tally.acknowledged[content] = result.data["sendMessage"]["message"]["id"]
        return True
    if result.codes and set(result.codes) <= RETRYABLE_CODES:
        tally.retryable.append(content)
        return False
    tally.other.append(result.errors[0] if result.errors else {"status": result.status})
    return False


async def stored_contents(client: GraphQLClient, channel_id: str) -> list[str]:
    """Every message of the channel, oldest first, read page by page."""
    contents: list[str] = []
    before: str | None = None
    while True:
        data = (await client.execute(HISTORY, {"c": channel_id, "before": before})).ok()
        page = data["channel"]["messages"]
        contents[:0] = [edge["node"]["content"] for edge in page["edges"]]
        if not page["pageInfo"]["hasPreviousPage"]:
            return contents
        before = page["pageInfo"]["startCursor"]


def assert_stored_exactly_once(tally: SendTally, stored: list[str]) -> None:
    """Every acknowledged message is stored once, and nothing is stored twice."""
    copies = Counter(stored)
    duplicated = {content: n for content, n in copies.items() if n > 1}
    missing = [content for content in tally.acknowledged if copies[content] == 0]
    assert not duplicated, f"stored more than once: {duplicated}; {tally.summary()}"
    assert not missing, f"acknowledged but not stored: {missing}; {tally.summary()}"


def assert_delivered_exactly_once(tally: SendTally, delivered: list[str]) -> None:
    """Every acknowledged message reached the subscriber once (others may arrive too: a send
    answered UNAVAILABLE or cut off may still have committed)."""
    copies = Counter(delivered)
    duplicated = {content: n for content, n in copies.items() if n > 1}
    missing = [content for content in tally.acknowledged if copies[content] == 0]
    assert not duplicated, f"delivered more than once: {duplicated}; {tally.summary()}"
    assert not missing, f"acknowledged but not delivered: {missing}; {tally.summary()}"
