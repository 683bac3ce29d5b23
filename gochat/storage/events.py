"""The callbacks every state-changing port method takes: its outbox events and audit entries,
derived from the result inside the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from gochat.bus import Envelope
from gochat.domain.records import AuditEntry

T_contra = TypeVar("T_contra", contravariant=True)
EventsOf = Callable[[T_contra], Sequence[Envelope]]
AuditOf = Callable[[T_contra], Sequence[AuditEntry]]


def no_events(_: object) -> Sequence[Envelope]:
    return ()
