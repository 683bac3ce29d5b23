"""Email change, account deletion and data export."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.schema.account_lifecycle import (
    ConfirmEmailChangeInput,
    ConfirmEmailChangePayload,
    DeleteAccountInput,
    DeleteAccountPayload,
    RequestDataExportPayload,
    RequestEmailChangeInput,
    RequestEmailChangePayload,
)
from gochat.schema.accounts import CurrentUser
from gochat.schema.common import MUTATION_INPUT
from gochat.schema.context import Info


@strawberry.type
class AccountLifecycleMutation:
    @strawberry.mutation(
        description="Mail a confirmation link to a new email address, and a notice to the "
        "current one; the email changes once the link is followed. BAD_USER_INPUT (field "
        "password) for a wrong password, CONFLICT when another account has the address, "
        "RATE_LIMITED after 5 requests an hour."
    )
    async def request_email_change(
        self, info: Info, input: Annotated[RequestEmailChangeInput, MUTATION_INPUT]
    ) -> RequestEmailChangePayload:
        await info.context.services.lifecycle.request_email_change(
            await info.context.viewer(), new_email=input.new_email, password=input.password
        )
        return RequestEmailChangePayload(ok=True)

    @strawberry.mutation(
        description="Move the account to the address that received this token (single use, "
        "expiring). BAD_USER_INPUT for an invalid, used or expired token; CONFLICT when "
        "another account took the address meanwhile. Needs no sign-in."
    )
    async def confirm_email_change(
        self, info: Info, input: Annotated[ConfirmEmailChangeInput, MUTATION_INPUT]
    ) -> ConfirmEmailChangePayload:
        account = await info.context.services.lifecycle.confirm_email_change(input.token)
        return ConfirmEmailChangePayload(user=CurrentUser.from_record(account))

    @strawberry.mutation(
        description="Delete your account: every session ends and its sockets close, "
        "memberships, friendships and friend requests are removed, your messages and DMs stay "
        "under a deleted-user placeholder, the email is freed and nobody can sign in to the "
        "account again. BAD_USER_INPUT (field password) for a wrong password; CONFLICT with "
        "extensions.reason OWNS_GUILDS while you own guilds (transfer or delete them first)."
    )
    async def delete_account(
        self, info: Info, input: Annotated[DeleteAccountInput, MUTATION_INPUT]
    ) -> DeleteAccountPayload:
        await info.context.services.lifecycle.delete_account(
            await info.context.viewer(), password=input.password
        )
        return DeleteAccountPayload(ok=True)

    @strawberry.mutation(
        description="Build a JSON archive of your data (profile, settings, memberships, "
        "friends, blocks, DM channels and the messages you wrote in the channels you can "
        "reach) in the background and mail a download link valid for 7 days. One per 24 "
        "hours: RATE_LIMITED with extensions.retryAfterSeconds and the time in the message."
    )
    async def request_data_export(self, info: Info) -> RequestDataExportPayload:
        task = await info.context.services.exports.request(await info.context.viewer())
        return RequestDataExportPayload(requested_at=task.created_at)
