"""Embed rules that need no server: which links a content offers, and what readers see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gochat.domain.embeds import content_version, links, visible
from gochat.domain.records import Embed, EmbedType, Mentions, Message, MessageFlag, MessageType
from gochat.ids import Snowflake


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("no links here", []),
        ("see https://a.example/x.", ["https://a.example/x"]),
        (
            "(https://a.example/y), and http://b.example!",
            ["https://a.example/y", "http://b.example"],
        ),
        ("twice https://a.example https://a.example", ["https://a.example"]),
        ("quiet <https://a.example/hidden> loud https://b.example", ["https://b.example"]),
        ("HTTPS://Upper.example/Path?q=1#f", ["HTTPS://Upper.example/Path?q=1#f"]),
        ("ftp://a.example javascript:alert(1)", []),
        (
            " ".join(f"https://{i}.example" for i in range(8)),
            [f"https://{i}.example" for i in range(5)],
        ),
    ],
)
def test_links_are_the_first_five_distinct_http_links(content: str, expected: list[str]) -> None:
    assert links(content) == expected


def _message(**values: object) -> Message:
    base = Message(
        id=Snowflake(1),
        channel_id=Snowflake(2),
        guild_id=None,
        author_id=Snowflake(3),
        type=MessageType.DEFAULT,
        content="x",
        reference_id=None,
        mentions=Mentions(),
        pinned=False,
        edited_at=datetime.now(UTC),
    )
    return Message(**{**{f: getattr(base, f) for f in Message.__slots__}, **values})


def test_readers_see_manual_then_generated_ten_at_most_and_none_generated_when_suppressed() -> None:
    manual = tuple(Embed(title=f"m{i}") for i in range(7))
    generated = tuple(Embed(type=EmbedType.LINK, title=f"g{i}") for i in range(5))
    made_for = content_version("x")
    shown = visible(_message(embeds=manual, generated_embeds=generated, generated_for=made_for))
    assert [e.title for e in shown] == [*(f"m{i}" for i in range(7)), "g0", "g1", "g2"]
    suppressed = _message(
        embeds=manual,
        generated_embeds=generated,
        generated_for=made_for,
        flags=MessageFlag.SUPPRESS_EMBEDS,
    )
    assert visible(suppressed) == manual
    # Made for another content: not shown with this one.
    stale = _message(generated_embeds=generated, generated_for=content_version("old"))
    assert visible(stale) == ()


def test_a_content_version_names_exactly_one_content() -> None:
    assert content_version("a") == content_version("a")
    assert content_version("a") != content_version("a ")
