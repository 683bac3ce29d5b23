"""How embeds are stored by every message store: a JSON array of the records."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter

from gochat.domain.records import Embed

_EMBEDS: TypeAdapter[tuple[Embed, ...]] = TypeAdapter(tuple[Embed, ...])


def embeds_json(embeds: Sequence[Embed]) -> str:
    return "[]" if not embeds else _EMBEDS.dump_json(tuple(embeds), exclude_none=True).decode()


def embeds_from_json(text: str | None) -> tuple[Embed, ...]:
    if not text or text == "[]":
        return ()
    return _EMBEDS.validate_json(text)
