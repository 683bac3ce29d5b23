"""GraphQL types for users, the signed-in account, sessions and settings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from gochat.domain import records
from gochat.ids import Snowflake
from gochat.schema.attachments import public_file_url
from gochat.schema.common import Node
from gochat.schema.context import Info

if TYPE_CHECKING:
    from gochat.schema.direct_messages import DirectMessageChannel, FriendRequests
    from gochat.schema.guilds import Guild
    from gochat.schema.messages import MessageConnection, ReadState


@strawberry.type(description="A GoChat user as anyone signed in may see them.")
class User(Node):
    id: strawberry.ID = strawberry.field(description="Snowflake id.")
    handle: str = strawberry.field(
        description="Unique handle: 2-32 characters of a-z, 0-9, '.', '_' and '-'."
    )
    display_name: str = strawberry.field(description="Shown name, 1-64 characters.")
    created_at: datetime = strawberry.field(description="When the account was created (UTC).")
    deleted: bool = strawberry.field(
        default=False,
        description="True for a deleted account: the handle is deleted-<id>, the display name "
        '"Deleted User", and nothing else of it remains.',
    )
    avatar_id: strawberry.Private[Snowflake | None] = None

    @strawberry.field(
        description="The avatar image (a 128 px WebP once made, the upload until then); "
        "public by id; null without an avatar."
    )
    def avatar_url(self, info: Info) -> str | None:
        return public_file_url(info, self.avatar_id)

    @classmethod
    def from_record(cls, user: records.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            handle=user.handle,
            display_name=user.display_name,
            created_at=user.created_at,
            deleted=user.deleted,
            avatar_id=user.avatar_id,
        )


@strawberry.type(description="A versioned settings document; the version rises on every replace.")
class UserSettings:
    version: int = strawberry.field(description="0 until the first replace.")
    data: JSON = strawberry.field(description="The client's document (a JSON object).")

    @classmethod
    def from_record(cls, settings: records.UserSettings) -> UserSettings:
        return cls(version=settings.version, data=cast(JSON, settings.data))


@strawberry.type(description="The signed-in user, with the fields only they may see.")
class CurrentUser:
    id: strawberry.ID = strawberry.field(description="Snowflake id.")
    handle: str = strawberry.field(description="Unique handle.")
    display_name: str = strawberry.field(description="Shown name.")
    created_at: datetime = strawberry.field(description="When the account was created (UTC).")
    email: str = strawberry.field(description="Normalized (lower-case) email address.")
    email_verified: bool = strawberry.field(description="True once the email was confirmed.")
    avatar_id: strawberry.Private[Snowflake | None] = None

    @strawberry.field(description="Your avatar image, as User.avatarUrl; null without one.")
    def avatar_url(self, info: Info) -> str | None:
        return public_file_url(info, self.avatar_id)

    @strawberry.field(
        description="The settings document; null when `newerThan` is given and the stored "
        "version is not newer (so a client holding the latest copy downloads nothing)."
    )
    async def settings(
        self,
        info: Info,
        newer_than: Annotated[
            int | None, strawberry.argument(description="Version the client already has.")
        ] = None,
    ) -> UserSettings | None:
        viewer = await info.context.viewer()
        found = await info.context.services.accounts.get_settings(viewer, newer_than=newer_than)
        return None if found is None else UserSettings.from_record(found)

    @strawberry.field(description="Guilds you are a member of, in the order you joined.")
    async def guilds(
        self, info: Info
    ) -> list[Annotated[Guild, strawberry.lazy("gochat.schema.guilds")]]:
        from gochat.schema.guilds import Guild as GuildType  # noqa: PLC0415 - avoids an import cycle

        viewer = await info.context.viewer()
        return [GuildType(record=g) for g in await info.context.services.guilds.list_mine(viewer)]

    @strawberry.field(description="Your DMs and group DMs, the most recent message first.")
    async def direct_message_channels(
        self, info: Info
    ) -> list[Annotated[DirectMessageChannel, strawberry.lazy("gochat.schema.direct_messages")]]:
        from gochat.schema.direct_messages import DirectMessageChannel as Type  # noqa: PLC0415

        found = await info.context.services.direct_messages.list_mine(await info.context.viewer())
        return [Type(record=c) for c in found]

    @strawberry.field(description="Your friends.")
    async def friends(self, info: Info) -> list[User]:
        found = await info.context.services.friends.friends(await info.context.viewer())
        return [User.from_record(u) for u in found]

    @strawberry.field(description="People you blocked.")
    async def blocked_users(self, info: Info) -> list[User]:
        found = await info.context.services.friends.blocked(await info.context.viewer())
        return [User.from_record(u) for u in found]

    @strawberry.field(description="Pending friend requests, incoming and outgoing.")
    async def friend_requests(
        self, info: Info
    ) -> Annotated[FriendRequests, strawberry.lazy("gochat.schema.direct_messages")]:
        from gochat.schema.direct_messages import FriendRequest, FriendRequests  # noqa: PLC0415

        viewer = await info.context.viewer()
        found = await info.context.services.friends.requests(viewer)
        return FriendRequests(
            incoming=[
                FriendRequest(record=r, other_id=r.from_id)
                for r in found
                if r.to_id == viewer.user_id
            ],
            outgoing=[
                FriendRequest(record=r, other_id=r.to_id)
                for r in found
                if r.from_id == viewer.user_id
            ],
        )

    @strawberry.field(description="Your read markers, by channel.")
    async def read_states(
        self, info: Info
    ) -> list[Annotated[ReadState, strawberry.lazy("gochat.schema.messages")]]:
        from gochat.schema.messages import ReadState as ReadStateType  # noqa: PLC0415 - cycle

        states = await info.context.services.read_states.list_mine(await info.context.viewer())
        return [
            ReadStateType(
                channel_id=strawberry.ID(str(s.channel_id)),
                last_read_message_id=strawberry.ID(str(s.last_read_id)),
            )
            for s in states
        ]

    @strawberry.field(description="Messages that mention you directly, newest first.")
    async def mentions(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size: 1-100 messages (default 50).")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "A cursor from this list: the page holds older mentions than that one."
                )
            ),
        ] = None,
    ) -> Annotated[MessageConnection, strawberry.lazy("gochat.schema.messages")]:
        from gochat.schema.common import encode_cursor, page_info  # noqa: PLC0415
        from gochat.schema.messages import Message, MessageConnection, MessageEdge  # noqa: PLC0415
        from gochat.schema.pagination import page_args  # noqa: PLC0415

        args = page_args("mention", first=first, after=after)
        found, more = await info.context.services.read_states.mentions(
            await info.context.viewer(), before=args.after, limit=args.size
        )
        edges = [
            MessageEdge(node=Message(record=m), cursor=encode_cursor("mention", m.id))
            for m in found
        ]
        return MessageConnection(
            edges=edges,
            page_info=page_info(edges, has_next=more, has_previous=after is not None),
        )

    @classmethod
    def from_record(cls, account: records.Account) -> CurrentUser:
        return cls(
            id=strawberry.ID(str(account.user.id)),
            handle=account.user.handle,
            display_name=account.user.display_name,
            created_at=account.user.created_at,
            email=account.email,
            email_verified=account.email_verified,
            avatar_id=account.user.avatar_id,
        )


@strawberry.type(description="Tokens of one signed-in session.")
class AuthSession:
    session_id: strawberry.ID = strawberry.field(description="The session (refresh-token family).")
    access_token: str = strawberry.field(
        description="Short-lived JWT: send it as `Authorization: Bearer <token>`, or as "
        "`authorization` in the WebSocket `connection_init` payload."
    )
    access_token_expires_at: datetime = strawberry.field(description="Expiry of the access token.")
    refresh_token: str = strawberry.field(
        description="Single-use: exchange it with refreshSession for a new pair. Presenting a "
        "used refresh token again ends the whole session."
    )
    refresh_token_expires_at: datetime = strawberry.field(
        description="Expiry of the refresh token."
    )

    @classmethod
    def from_record(cls, pair: records.TokenPair) -> AuthSession:
        return cls(
            session_id=strawberry.ID(str(pair.session_id)),
            access_token=pair.access_token,
            access_token_expires_at=pair.access_expires_at,
            refresh_token=pair.refresh_token,
            refresh_token_expires_at=pair.refresh_expires_at,
        )


@strawberry.input(description="Create an account. A confirmation mail is sent to `email`.")
class RegisterInput:
    email: str = strawberry.field(description="Email address, at most 254 characters.")
    handle: str = strawberry.field(description="Unique handle: 2-32 of a-z 0-9 . _ -.")
    display_name: str = strawberry.field(description="Shown name, 1-64 characters.")
    password: str = strawberry.field(description="8-256 characters.")


@strawberry.type(description="The new account (not yet confirmed).")
class RegisterPayload:
    user: CurrentUser = strawberry.field(
        description="The account, with emailVerified false until confirmEmail."
    )


@strawberry.input(description="Confirm an email address with the token from the mail.")
class ConfirmEmailInput:
    token: str = strawberry.field(description="Token from the confirmation mail.")


@strawberry.type(description="The confirmed account.")
class ConfirmEmailPayload:
    user: CurrentUser = strawberry.field(description="The account, with emailVerified true.")


@strawberry.input(description="Sign in with email and password.")
class LoginInput:
    email: str = strawberry.field(description="The account's email address (case does not matter).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.type(description="A new session and its user.")
class LoginPayload:
    session: AuthSession = strawberry.field(description="The new session's tokens.")
    user: CurrentUser = strawberry.field(description="The signed-in account.")


@strawberry.input(description="Exchange a refresh token for a new token pair.")
class RefreshSessionInput:
    refresh_token: str = strawberry.field(
        description="The current refresh token of the session (single-use)."
    )


@strawberry.type(description="The same session with fresh tokens.")
class RefreshSessionPayload:
    session: AuthSession = strawberry.field(
        description="The session with a new access and refresh token."
    )


@strawberry.type(description="Result of ending the current session.")
class LogoutPayload:
    ok: bool = strawberry.field(description="Always true: the session is ended.")


@strawberry.type(description="Result of ending every session of the account.")
class LogoutAllSessionsPayload:
    revoked_sessions: int = strawberry.field(description="How many live sessions were ended.")


@strawberry.input(description="Ask for a password-reset mail.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's email address.")


@strawberry.type(
    description="Always ok, whether or not the email has an account (no account enumeration)."
)
class RequestPasswordResetPayload:
    ok: bool = strawberry.field(description="Always true.")


@strawberry.input(description="Set a new password with the token from the reset mail.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the reset mail (single-use).")
    new_password: str = strawberry.field(description="8-256 characters.")


@strawberry.type(description="The password was reset and every session ended.")
class ResetPasswordPayload:
    ok: bool = strawberry.field(description="Always true: sign in with the new password.")


@strawberry.input(description="Change the password; every other session is ended.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="8-256 characters.")


@strawberry.type(description="The password was changed.")
class ChangePasswordPayload:
    ok: bool = strawberry.field(description="Always true.")


@strawberry.type(description="A new confirmation mail was sent, unless already confirmed.")
class ResendEmailConfirmationPayload:
    ok: bool = strawberry.field(description="Always true.")


@strawberry.input(description="Change the public profile.")
class UpdateProfileInput:
    display_name: str | None = strawberry.field(
        default=None, description="Shown name, 1-64 characters; unchanged when omitted."
    )
    avatar_upload_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An AVATAR upload of yours (PNG, JPEG, GIF or WebP, at most "
        "GOCHAT_AVATAR_MAX_BYTES) to become your avatar; unchanged when omitted.",
    )


@strawberry.type(description="The updated user.")
class UpdateProfilePayload:
    user: User = strawberry.field(description="Your public profile as it is now.")


@strawberry.input(description="Replace the settings document.")
class ReplaceSettingsInput:
    data: JSON = strawberry.field(description="A JSON object, at most GOCHAT_SETTINGS_MAX_BYTES.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="When given, the replace fails with CONFLICT unless this is the stored "
        "version (optimistic concurrency between devices).",
    )


@strawberry.type(description="The stored settings with their new version.")
class ReplaceSettingsPayload:
    settings: UserSettings = strawberry.field(
        description="The document as stored, with its new version."
    )


async def load_user(info: Info, user_id: int) -> User | None:
    """A user's public profile through the request's loader, or None when gone."""
    found = await info.context.loaders.user_by_id.load(Snowflake(user_id))
    return None if found is None else User.from_record(found)
