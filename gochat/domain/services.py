"""The set of services one process runs, as handed to the GraphQL layer, workers and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from gochat.bus import EventBus
from gochat.domain.accounts import AccountService
from gochat.mail import EmailSender
from gochat.storage import RelationalStore


@dataclass(frozen=True, slots=True)
class Services:
    store: RelationalStore
    bus: EventBus
    mail: EmailSender
    accounts: AccountService
