"""The search box's syntax, highlighting and snippets: pure rules, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gochat.domain.search import highlight, snippet_of
from gochat.domain.search_syntax import parse_query
from gochat.errors import BadUserInput
from gochat.search import Has, Term


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("hello world", [Term("hello"), Term("world")]),
        ('"big world" again', [Term("big world", phrase=True), Term("again")]),
        ("bro*", [Term("bro", prefix=True)]),
        ("https://example.com/x", [Term("https://example.com/x")]),
        ("at 10:30", [Term("at"), Term("10:30")]),
        ("東京タワー", [Term("東京タワー")]),
        ("*", []),
        ("", []),
    ],
)
def test_words_phrases_and_prefixes(text: str, terms: list[Term]) -> None:
    assert parse_query(text).terms == terms


def test_filters_are_taken_out_of_the_text() -> None:
    parsed = parse_query(
        "cats from:ann from:<@12> mentions:bob has:image has:link in:#general "
        "before:2026-01-02 after:2025-12-31 pinned:true"
    )
    assert parsed.terms == [Term("cats")]
    assert parsed.from_users == ["ann", "<@12>"]
    assert parsed.mentions == ["bob"]
    assert parsed.has == Has.IMAGE | Has.LINK
    assert parsed.in_channels == ["#general"]
    assert parsed.before == datetime(2026, 1, 2, tzinfo=UTC)
    assert parsed.after == datetime(2026, 1, 1, tzinfo=UTC)  # the whole day is excluded
    assert parsed.pinned is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("has:pdf", "has: takes"),
        ("before:yesterday", "before: takes a date"),
        ("pinned:maybe", "pinned: takes true or false"),
        ("from:", "from: needs a value"),
        ("x" * 513, "at most 512 characters"),
        (" ".join(["w"] * 17), "at most 16 words"),
    ],
)
def test_bad_queries_name_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        parse_query(text)
    assert message in raised.value.message
    assert raised.value.field == "query"


@pytest.mark.parametrize(
    ("content", "terms", "ranges"),
    [
        ("The Crème brûlée", [Term("creme")], [(4, 9)]),
        ("concatenate the cat", [Term("cat")], [(16, 19)]),
        ("browsing brown", [Term("brow", prefix=True)], [(0, 8), (9, 14)]),
        ("a big world, big   WORLD", [Term("big world", phrase=True)], [(2, 11), (13, 24)]),
        ("昨日東京タワーに", [Term("東京")], [(2, 4)]),
        ("nothing here", [Term("absent")], None),
        ("one two", [Term("one"), Term("absent")], None),
        ("no words asked", [], []),
    ],
)
def test_highlights_follow_the_index_rules(
    content: str, terms: list[Term], ranges: list[tuple[int, int]] | None
) -> None:
    assert highlight(content, terms) == ranges


def test_snippets_count_utf16_and_cut_around_the_first_match() -> None:
    short = snippet_of("😀 cat", [(2, 5)])
    assert short.text == "😀 cat"
    assert short.highlights == [(3, 3)]  # the emoji is two UTF-16 code units
    content = "word " * 100 + "needle " + "tail " * 100
    start = content.index("needle")
    long = snippet_of(content, [(start, start + 6)])
    assert long.text.startswith("…") and long.text.endswith("…")
    assert len(long.text) <= 202
    ((offset, length),) = long.highlights
    assert long.text[offset : offset + length] == "needle"
