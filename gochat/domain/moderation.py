"""Moderation: kick, ban and unban, timeouts. Each is recorded in the audit log with its reason.

A banned user is removed at once and cannot rejoin by invite until unbanned. A ban may also
remove what the user wrote in the guild in the last `delete_message_seconds` (up to 7 days, as
Discord): a background task (gochat/domain/tasks.py) deletes those messages after the ban, with
MessagesDeleted events, and does nothing if the ban was lifted meanwhile. A timed-out member
keeps only VIEW_CHANNELS and READ_MESSAGE_HISTORY until the timeout ends (see permissions).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gochat.bus import subjects
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import MemberBanned, MemberRemoved, MemberUnbanned, MemberUpdated
from gochat.domain.permissions import Permission
from gochat.domain.records import Ban, Member, Viewer
from gochat.errors import BadUserInput, Forbidden, NotFound
from gochat.ids import Snowflake
from gochat.storage import AccountStore

if TYPE_CHECKING:
    from gochat.domain.messages import MessageService
    from gochat.domain.records import BackgroundTask
    from gochat.domain.tasks import TaskQueue

REASON_MAX = 512
TIMEOUT_MAX = timedelta(days=28)
DELETE_MESSAGE_SECONDS_MAX = 7 * 24 * 3600
BAN_PURGE = "ban-purge"


def _reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    value = reason.strip()
    if len(value) > REASON_MAX:
        raise BadUserInput(f"a reason has at most {REASON_MAX} characters", field="reason")
    return value


class ModerationService:
    def __init__(
        self,
        kit: ChangeKit,
        accounts: AccountStore,
        *,
        tasks: TaskQueue | None = None,
        messages: MessageService | None = None,
    ) -> None:
        self._kit = kit
        self._accounts = accounts
        self._tasks = tasks
        self._messages = messages

    async def list_bans(self, viewer: Viewer, guild_id: Snowflake) -> list[Ban]:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.BAN_MEMBERS, "see bans")
        return await self._kit.store.list_bans(guild_id)

    async def kick(
        self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake, *, reason: str | None = None
    ) -> None:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.KICK_MEMBERS, "kick members")
        target = await self._member(guild_id, user_id)
        if user_id == viewer.user_id:
            raise BadUserInput("use leaveGuild to leave", field="userId")
        view.require_above_member(target, "kick")
        await self._remove(viewer, guild_id, user_id, ban=None, reason=_reason(reason))

    async def ban(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        user_id: Snowflake,
        *,
        reason: str | None = None,
        delete_message_seconds: int = 0,
    ) -> Ban:
        if not 0 <= delete_message_seconds <= DELETE_MESSAGE_SECONDS_MAX:
            raise BadUserInput(
                f"deleteMessageSeconds is 0 to {DELETE_MESSAGE_SECONDS_MAX} (7 days)",
                field="deleteMessageSeconds",
            )
        if delete_message_seconds and (self._tasks is None or self._messages is None):
            raise BadUserInput(
                "removing messages with a ban is not available here", field="deleteMessageSeconds"
            )
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.BAN_MEMBERS, "ban members")
        if user_id == viewer.user_id:
            raise BadUserInput("you cannot ban yourself", field="userId")
        target = await self._kit.store.get_member(guild_id, user_id)
        if target is not None:
            view.require_above_member(target, "ban")
        elif await self._accounts.get_user(user_id) is None:
            raise NotFound("user not found")
        ban = Ban(
            guild_id,
            user_id,
            _reason(reason),
            viewer.user_id,
            self._kit.now().replace(microsecond=0),
        )
        task = None
        if delete_message_seconds and self._tasks is not None:
            since = self._kit.now() - timedelta(seconds=delete_message_seconds)
            task = self._tasks.new(
                BAN_PURGE, user_id=user_id, guild_id=guild_id, params={"since": since.isoformat()}
            )
            # Written before the ban so that it cannot be lost after it; the task re-checks
            # that the ban exists before deleting anything.
            await self._tasks.add(task, notify=False)
        await self._remove(viewer, guild_id, user_id, ban=ban, reason=ban.reason)
        if task is not None and self._tasks is not None:
            self._tasks.queued(task)
        return ban

    async def purge_banned_unchecked(self, task: BackgroundTask) -> None:
        """Run a ban's history removal: delete the banned user's messages in the guild since
        the task's `since`, provided the ban still stands."""
        if task.guild_id is None or self._messages is None:
            return
        bans = await self._kit.store.list_bans(task.guild_id)
        if not any(b.user_id == task.user_id for b in bans):
            return
        since = datetime.fromisoformat(str(task.params["since"]))
        await self._messages.purge_author_unchecked(task.guild_id, task.user_id, since=since)

    async def unban(self, viewer: Viewer, guild_id: Snowflake, user_id: Snowflake) -> Ban:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.BAN_MEMBERS, "unban members")
        kit = self._kit
        pending = Pending()
        ban = await kit.store.delete_ban(
            guild_id,
            user_id,
            events=kit.guild_events(
                pending, guild_id, lambda b, eid: MemberUnbanned(event_id=eid, ban=b)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="MEMBER_UNBAN",
                target_type="user",
                target_id=user_id,
            ),
        )
        await kit.publish(pending)
        return ban

    async def timeout(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        user_id: Snowflake,
        *,
        until: datetime | None,
        reason: str | None = None,
    ) -> Member:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.TIMEOUT_MEMBERS, "time out members")
        target = await self._member(guild_id, user_id)
        if user_id == viewer.user_id:
            raise BadUserInput("you cannot time yourself out", field="userId")
        view.require_above_member(target, "time out")
        if (
            target.user_id != view.guild.owner_id
            and view.permissions(target) & Permission.ADMINISTRATOR
        ):
            raise Forbidden("administrators cannot be timed out")
        now = self._kit.now()
        if until is not None:
            if until.tzinfo is None:
                raise BadUserInput("give the time with a UTC offset", field="until")
            if until <= now:
                raise BadUserInput(
                    "a timeout ends in the future; use null to lift it", field="until"
                )
            if until - now > TIMEOUT_MAX:
                raise BadUserInput("a timeout lasts at most 28 days", field="until")
        kit = self._kit
        pending = Pending()
        member = await kit.store.update_member(
            guild_id,
            user_id,
            {"timeout_until": until},
            events=kit.guild_events(
                pending, guild_id, lambda m, eid: MemberUpdated(event_id=eid, member=m)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="MEMBER_TIMEOUT",
                target_type="user",
                target_id=user_id,
                changes={"timeoutUntil": [target.timeout_until, until]},
                reason=_reason(reason),
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return member

    async def _member(self, guild_id: Snowflake, user_id: Snowflake) -> Member:
        member = await self._kit.store.get_member(guild_id, user_id)
        if member is None:
            raise NotFound("member not found")
        return member

    async def _remove(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        user_id: Snowflake,
        *,
        ban: Ban | None,
        reason: str | None,
    ) -> None:
        kit = self._kit
        pending = Pending()
        why = "banned" if ban else "kicked"

        def make(removed: Member | None, eid: Snowflake) -> list[tuple[object, list[str]]]:
            out: list[tuple[object, list[str]]] = []
            if removed is not None:
                out.append(
                    (
                        MemberRemoved(event_id=eid, guild_id=guild_id, user_id=user_id, reason=why),
                        [subjects.guild(guild_id), subjects.user(user_id)],
                    )
                )
            if ban is not None:
                out.append(
                    (MemberBanned(event_id=kit.ids.next_id(), ban=ban), [subjects.guild(guild_id)])
                )
            return out

        await kit.store.remove_member(
            guild_id,
            user_id,
            ban=ban,
            events=kit.events(pending, make),  # type: ignore[arg-type]
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="MEMBER_BAN" if ban else "MEMBER_KICK",
                target_type="user",
                target_id=user_id,
                reason=reason,
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
