"""Account, session, profile and settings operations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gochat.errors import NotFound
from gochat.schema.accounts import (
    AuthSession,
    ChangePasswordInput,
    ChangePasswordPayload,
    ConfirmEmailInput,
    ConfirmEmailPayload,
    CurrentUser,
    LoginInput,
    LoginPayload,
    LogoutAllSessionsPayload,
    LogoutPayload,
    RefreshSessionInput,
    RefreshSessionPayload,
    RegisterInput,
    RegisterPayload,
    ReplaceSettingsInput,
    ReplaceSettingsPayload,
    RequestPasswordResetInput,
    RequestPasswordResetPayload,
    ResendEmailConfirmationPayload,
    ResetPasswordInput,
    ResetPasswordPayload,
    UpdateProfileInput,
    UpdateProfilePayload,
    User,
    UserSettings,
)
from gochat.schema.common import LOOKUP_RULE, MUTATION_INPUT, snowflake
from gochat.schema.context import Info


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user. UNAUTHENTICATED without a valid token.")
    async def me(self, info: Info) -> CurrentUser:
        viewer = await info.context.viewer()
        return CurrentUser.from_record(await info.context.services.accounts.access_account(viewer))

    @strawberry.field(description=f"A user by id. Requires sign-in. {LOOKUP_RULE}")
    async def user(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="User id.")]
    ) -> User | None:
        await info.context.viewer()
        found = await info.context.loaders.user_by_id.load(snowflake(id, field="id"))
        if found is None:
            raise NotFound("no such user")
        return User.from_record(found)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Create an account and mail a confirmation link. CONFLICT when the email or "
        "handle is taken; RATE_LIMITED after too many sign-ups from one address."
    )
    async def register(
        self, info: Info, input: Annotated[RegisterInput, MUTATION_INPUT]
    ) -> RegisterPayload:
        account = await info.context.services.accounts.register(
            email=input.email,
            handle=input.handle,
            display_name=input.display_name,
            password=input.password,
            client=info.context.client,
        )
        return RegisterPayload(user=CurrentUser.from_record(account))

    @strawberry.mutation(description="Confirm the email with the mailed token (single use).")
    async def confirm_email(
        self, info: Info, input: Annotated[ConfirmEmailInput, MUTATION_INPUT]
    ) -> ConfirmEmailPayload:
        account = await info.context.services.accounts.confirm_email(input.token)
        return ConfirmEmailPayload(user=CurrentUser.from_record(account))

    @strawberry.mutation(description="Mail a new confirmation link (at most 3 an hour).")
    async def resend_email_confirmation(self, info: Info) -> ResendEmailConfirmationPayload:
        await info.context.services.accounts.resend_confirmation(await info.context.viewer())
        return ResendEmailConfirmationPayload(ok=True)

    @strawberry.mutation(
        description="Sign in. UNAUTHENTICATED for a wrong email or password alike; "
        "RATE_LIMITED after too many attempts per address or per account."
    )
    async def login(self, info: Info, input: Annotated[LoginInput, MUTATION_INPUT]) -> LoginPayload:
        accounts = info.context.services.accounts
        pair = await accounts.login(
            email=input.email, password=input.password, client=info.context.client
        )
        viewer = await accounts.authenticate(pair.access_token)
        account = await accounts.access_account(viewer)
        return LoginPayload(
            session=AuthSession.from_record(pair), user=CurrentUser.from_record(account)
        )

    @strawberry.mutation(
        description="Rotate a refresh token: returns a new pair and invalidates the old token. "
        "Reusing an already-rotated token ends the whole session."
    )
    async def refresh_session(
        self, info: Info, input: Annotated[RefreshSessionInput, MUTATION_INPUT]
    ) -> RefreshSessionPayload:
        pair = await info.context.services.accounts.refresh(
            refresh_token=input.refresh_token, client=info.context.client
        )
        return RefreshSessionPayload(session=AuthSession.from_record(pair))

    @strawberry.mutation(description="End the current session; its tokens stop working at once.")
    async def logout(self, info: Info) -> LogoutPayload:
        await info.context.services.accounts.logout(await info.context.viewer())
        return LogoutPayload(ok=True)

    @strawberry.mutation(description="End every session of the account, this one included.")
    async def logout_all_sessions(self, info: Info) -> LogoutAllSessionsPayload:
        count = await info.context.services.accounts.logout_all(await info.context.viewer())
        return LogoutAllSessionsPayload(revoked_sessions=count)

    @strawberry.mutation(
        description="Mail a password-reset link if the email has an account. The answer is the "
        "same either way."
    )
    async def request_password_reset(
        self, info: Info, input: Annotated[RequestPasswordResetInput, MUTATION_INPUT]
    ) -> RequestPasswordResetPayload:
        await info.context.services.accounts.request_password_reset(
            email=input.email, client=info.context.client
        )
        return RequestPasswordResetPayload(ok=True)

    @strawberry.mutation(description="Set a new password with a reset token; ends every session.")
    async def reset_password(
        self, info: Info, input: Annotated[ResetPasswordInput, MUTATION_INPUT]
    ) -> ResetPasswordPayload:
        await info.context.services.accounts.reset_password(
            token=input.token, new_password=input.new_password
        )
        return ResetPasswordPayload(ok=True)

    @strawberry.mutation(description="Change the password; every other session is ended.")
    async def change_password(
        self, info: Info, input: Annotated[ChangePasswordInput, MUTATION_INPUT]
    ) -> ChangePasswordPayload:
        await info.context.services.accounts.change_password(
            await info.context.viewer(),
            current_password=input.current_password,
            new_password=input.new_password,
        )
        return ChangePasswordPayload(ok=True)

    @strawberry.mutation(description="Change the public profile.")
    async def update_profile(
        self, info: Info, input: Annotated[UpdateProfileInput, MUTATION_INPUT]
    ) -> UpdateProfilePayload:
        user = await info.context.services.accounts.update_profile(
            await info.context.viewer(),
            display_name=input.display_name,
            avatar_upload_id=None
            if input.avatar_upload_id is None
            else snowflake(input.avatar_upload_id, field="avatarUploadId"),
        )
        return UpdateProfilePayload(user=User.from_record(user))

    @strawberry.mutation(description="Replace the settings document and bump its version.")
    async def replace_settings(
        self, info: Info, input: Annotated[ReplaceSettingsInput, MUTATION_INPUT]
    ) -> ReplaceSettingsPayload:
        settings = await info.context.services.accounts.replace_settings(
            await info.context.viewer(), data=input.data, expected_version=input.expected_version
        )
        return ReplaceSettingsPayload(settings=UserSettings.from_record(settings))
