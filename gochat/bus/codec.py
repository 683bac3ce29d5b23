"""The one serialization of domain events: a versioned JSON envelope, for every bus adapter."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from gochat.bus import Envelope
from gochat.domain.events import ALL_EVENT_TYPES, Event

_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in ALL_EVENT_TYPES}
_ADAPTERS: dict[type[Event], TypeAdapter[Any]] = {cls: TypeAdapter(cls) for cls in ALL_EVENT_TYPES}


class UnknownEvent(ValueError):
    """A payload names an event type or version this process does not know."""


def encode(event: Event) -> bytes:
    cls = type(event)
    body = {
        "type": cls.TYPE,
        "v": cls.VERSION,
        "data": _ADAPTERS[cls].dump_python(event, mode="json"),
    }
    return json.dumps(body, separators=(",", ":")).encode()


_TYPE_PREFIX = b'{"type":"'


def event_type(payload: bytes) -> str:
    """The type name of an encoded event, without decoding the rest (encode writes it first;
    anything else is parsed in full); "" for a payload that is no event at all."""
    if payload.startswith(_TYPE_PREFIX):
        end = payload.find(b'"', len(_TYPE_PREFIX))
        if end > 0:
            return payload[len(_TYPE_PREFIX) : end].decode(errors="replace")
    try:
        body = json.loads(payload)
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""


def decode(payload: bytes) -> Event:
    body = json.loads(payload)
    cls = _TYPES.get(body.get("type", ""))
    if cls is None or body.get("v") != cls.VERSION:
        raise UnknownEvent(f"unknown event {body.get('type')!r} v{body.get('v')!r}")
    event: Event = _ADAPTERS[cls].validate_python(body["data"])
    return event


def seal(event: Event, *subjects: str) -> list[Envelope]:
    """The envelopes that carry one event to each of its subjects."""
    payload = encode(event)
    return [Envelope(subject=s, event_id=event.event_id, payload=payload) for s in subjects]
