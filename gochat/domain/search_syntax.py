"""The search box's syntax, parsed on the server: what chat users type, turned into terms and
filters.

    words            every word must occur (case and accents do not matter)
    "a phrase"       the words in this order
    prefix*          words starting so
    from:handle      sent by that user (also from:<@id> or from:id); several: any of them
    mentions:handle  mentioning that user; several: any of them
    has:image        link, attachment, image, video, audio, file or embed; several: all
    in:channel       in that channel of the guild (name, #name, <#id> or id)
    before:DATE      sent before that day (YYYY-MM-DD, UTC) or instant (ISO 8601)
    after:DATE       sent after that day or instant
    pinned:true      only pinned (pinned:false: only unpinned)

A `key:value` whose key is none of these is an ordinary word (so URLs stay searchable); a
known key with a value it cannot take is BAD_USER_INPUT, naming what it expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from gochat.errors import BadUserInput
from gochat.search import NO_FLAGS, Has, Term

QUERY_MAX = 512
TERMS_MAX = 16
_TOKEN = re.compile(r'(?:(\w+):)?(?:"([^"]*)"?|(\S*))')
_HAS = {flag.name.lower(): flag for flag in Has if flag.name}
_HAS["url"] = Has.LINK
_HAS["attachments"] = Has.ATTACHMENT


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)
    from_users: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    has: Has = NO_FLAGS
    in_channels: list[str] = field(default_factory=list)
    before: datetime | None = None
    after: datetime | None = None
    pinned: bool | None = None


def _bad(message: str) -> BadUserInput:
    return BadUserInput(message, field="query")


def _instant(value: str, key: str, *, end_of_day: bool) -> datetime:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
            return day + timedelta(days=1) if end_of_day else day
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{key}: takes a date (YYYY-MM-DD) or an ISO 8601 instant") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_query(text: str) -> ParsedQuery:
    if len(text) > QUERY_MAX:
        raise _bad(f"a search query has at most {QUERY_MAX} characters")
    parsed = ParsedQuery()
    for match in _TOKEN.finditer(text):
        if not match.group(0):
            continue
        key, quoted, bare = match.group(1), match.group(2), match.group(3)
        value = quoted if quoted is not None else bare or ""
        name = key.lower() if key else None
        if name is not None and name not in _FILTERS:
            # Not a filter (a URL, a time like 10:30): the whole thing is text.
            name, value, quoted = None, match.group(0), None
            value = value.replace('"', " ")
        if name is None:
            _add_text(parsed, value, phrase=quoted is not None)
            continue
        if not value:
            raise _bad(f"{name}: needs a value")
        _FILTERS[name](parsed, value)
    if len(parsed.terms) > TERMS_MAX:
        raise _bad(f"a search query has at most {TERMS_MAX} words and phrases")
    return parsed


def _add_text(parsed: ParsedQuery, value: str, *, phrase: bool) -> None:
    words = value.split()
    if not words:
        return
    if phrase:
        parsed.terms.append(Term(" ".join(words), phrase=True))
        return
    for word in words:
        prefix = word.endswith("*") and len(word.rstrip("*")) > 0
        core = word.rstrip("*")
        if core:
            parsed.terms.append(Term(core, prefix=prefix))


def _from(parsed: ParsedQuery, value: str) -> None:
    parsed.from_users.append(value)


def _mentions(parsed: ParsedQuery, value: str) -> None:
    parsed.mentions.append(value)


def _has(parsed: ParsedQuery, value: str) -> None:
    flag = _HAS.get(value.lower())
    if flag is None:
        raise _bad("has: takes link, attachment, image, video, audio, file or embed")
    parsed.has |= flag


def _in(parsed: ParsedQuery, value: str) -> None:
    parsed.in_channels.append(value)


def _before(parsed: ParsedQuery, value: str) -> None:
    moment = _instant(value, "before", end_of_day=False)
    parsed.before = moment if parsed.before is None else min(parsed.before, moment)


def _after(parsed: ParsedQuery, value: str) -> None:
    moment = _instant(value, "after", end_of_day=True)
    parsed.after = moment if parsed.after is None else max(parsed.after, moment)


def _pinned(parsed: ParsedQuery, value: str) -> None:
    lowered = value.lower()
    if lowered not in {"true", "false", "yes", "no"}:
        raise _bad("pinned: takes true or false")
    parsed.pinned = lowered in {"true", "yes"}


_FILTERS = {
    "from": _from,
    "mentions": _mentions,
    "has": _has,
    "in": _in,
    "before": _before,
    "after": _after,
    "pinned": _pinned,
}
