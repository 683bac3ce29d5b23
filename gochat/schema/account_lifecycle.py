"""GraphQL types for an account's lifecycle: email change, deletion and data export."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gochat.schema.accounts import CurrentUser


@strawberry.input(description="Ask to move the account to another email address.")
class RequestEmailChangeInput:
    new_email: str = strawberry.field(
        description="The address to move to; it receives a confirmation link (single use, "
        "valid GOCHAT_EMAIL_CONFIRMATION_TTL_SECONDS)."
    )
    password: str = strawberry.field(description="The account's current password.")


@strawberry.type(description="The confirmation link was mailed to the new address.")
class RequestEmailChangePayload:
    ok: bool = strawberry.field(
        description="Always true; the email changes once the link is followed."
    )


@strawberry.input(description="Apply an email change with the token mailed to the new address.")
class ConfirmEmailChangeInput:
    token: str = strawberry.field(description="The token from the mail (single use).")


@strawberry.type(description="The account with its new email.")
class ConfirmEmailChangePayload:
    user: CurrentUser = strawberry.field(
        description="The account, now at the new (verified) email."
    )


@strawberry.input(description="Delete the signed-in account for good.")
class DeleteAccountInput:
    password: str = strawberry.field(description="The account's current password.")


@strawberry.type(description="The account was deleted and every session ended.")
class DeleteAccountPayload:
    ok: bool = strawberry.field(description="Always true.")


@strawberry.type(description="The data export was queued.")
class RequestDataExportPayload:
    requested_at: datetime = strawberry.field(
        description="When it was asked for; the next export may be asked for 24 hours later."
    )
