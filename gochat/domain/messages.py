"""Messages in guild text channels: send (idempotent by client nonce), reply, edit, delete,
bulk delete, history pages and mention parsing.

A message may carry up to 10 attachments (ATTACH_FILES), uploads of the author for this
channel; with them its content may be empty. The uploads are claimed before the message is
stored, under a claim named after the nonce, so a retried send claims the same uploads again
and never a second time for another message.

A message may carry up to 10 manual embeds (rules in `embeds`); the embedder adds generated
ones later, which the author or a member with MANAGE_MESSAGES hides with SUPPRESS_EMBEDS.

A nonce makes retries safe: the same nonce from the same author in the same channel within the
window returns the first message and stores nothing new, even for concurrent retries (the
store enforces it with a constraint).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from gochat.bus import subjects
from gochat.bus.codec import seal
from gochat.domain import embeds as embed_rules
from gochat.domain.attachments import AttachmentService
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.channel_access import ChannelAccess, ChannelAccessResolver
from gochat.domain.events import (
    MessageCreated,
    MessagesDeleted,
    MessageUpdated,
    ReadStateUpdated,
)
from gochat.domain.permissions import Permission
from gochat.domain.publisher import PublishOrder
from gochat.domain.records import (
    Channel,
    ChannelType,
    Embed,
    Mentions,
    Message,
    MessageFlag,
    MessageType,
    ReadState,
    UploadPurpose,
    Viewer,
)
from gochat.domain.thread_state import update_thread
from gochat.errors import BadUserInput, Forbidden, NotFound, RateLimited
from gochat.ids import Snowflake, lowest_id_at
from gochat.ratelimit import RateLimiter
from gochat.storage import DirectStore, MessageStore

CONTENT_MAX = 4000
NONCE_MAX = 64
NONCE_WINDOW = timedelta(minutes=10)
PAGE_MAX = 100
BULK_MAX = 100
ATTACHMENTS_MAX = 10
_USER_MENTION = re.compile(r"<@!?(\d{1,19})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,19})>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[Message]  # oldest first
    has_older: bool
    has_newer: bool


def _subject(message: Message) -> str:
    return subjects.message_channel(message.channel_id, message.guild_id)


def parse_mentions(content: str, access: ChannelAccess) -> Mentions:
    """Mentions that count: users by id, roles of the guild, @everyone/@here only with
    MENTION_ROLES (without it they stay plain text, as the author typed them). In DMs only the
    participants can be mentioned."""
    user_ids = tuple(dict.fromkeys(Snowflake(int(m)) for m in _USER_MENTION.findall(content)))
    if access.direct is not None:
        return Mentions(user_ids=tuple(u for u in user_ids if u in access.direct.recipient_ids))
    view = access.guild_view
    role_ids: tuple[Snowflake, ...] = ()
    everyone = False
    if view is not None and access.has(Permission.MENTION_ROLES):
        role_ids = tuple(
            dict.fromkeys(
                Snowflake(int(m))
                for m in _ROLE_MENTION.findall(content)
                if int(m) in view.data.roles and int(m) != view.guild.id
            )
        )
        everyone = bool(_EVERYONE.search(content))
    return Mentions(user_ids=user_ids, role_ids=role_ids, everyone=everyone)


class MessageService:
    def __init__(
        self,
        kit: ChangeKit,
        store: MessageStore,
        channels: ChannelAccessResolver,
        direct: DirectStore,
        files: AttachmentService,
        *,
        limits: RateLimiter,
        guild_kit: ChangeKit | None = None,
    ) -> None:
        self._kit = kit
        # Thread rows live in the guild store, whose events its own outbox holds.
        self._guild_kit = guild_kit or kit
        self._store = store
        self._channels = channels
        self._direct = direct
        self._files = files
        self._limits = limits
        self._order = PublishOrder()

    async def channel_access(self, viewer: Viewer, channel_id: Snowflake) -> ChannelAccess:
        return await self._channels.message_channel(viewer, channel_id)

    async def send(
        self,
        viewer: Viewer,
        channel_id: Snowflake,
        *,
        content: str,
        nonce: str | None = None,
        reply_to: Snowflake | None = None,
        attachment_ids: Sequence[Snowflake] = (),
        embeds: Sequence[Embed] = (),
    ) -> tuple[Message, bool]:
        """The message and whether this call created it (False: a retry with a known nonce)."""
        access = await self.channel_access(viewer, channel_id)
        access.require(Permission.SEND_MESSAGES, "send messages here")
        text = content.strip()
        manual = embed_rules.check_manual(embeds)
        attachment_ids = list(dict.fromkeys(attachment_ids))
        if attachment_ids:
            access.require(Permission.ATTACH_FILES, "attach files")
            if len(attachment_ids) > ATTACHMENTS_MAX:
                raise BadUserInput(
                    f"a message has at most {ATTACHMENTS_MAX} attachments", field="attachments"
                )
        if not text and not attachment_ids and not manual:
            raise BadUserInput("a message needs content, attachments or embeds", field="content")
        if len(text) > CONTENT_MAX:
            raise BadUserInput(f"a message has at most {CONTENT_MAX} characters", field="content")
        if nonce is not None and not 1 <= len(nonce) <= NONCE_MAX:
            raise BadUserInput(f"a nonce has 1 to {NONCE_MAX} characters", field="nonce")
        kind = MessageType.DEFAULT
        if reply_to is not None:
            referenced = await self._store.get(reply_to)
            if referenced is None or referenced.channel_id != channel_id:
                raise NotFound("the message replied to is not in this channel")
            kind = MessageType.REPLY
        kit = self._kit
        await self._slowmode(viewer, access, nonce)
        thread = access.guild_channel
        if thread is not None and thread.is_thread:
            await self._keep_thread_open(viewer, thread)
        mentions = await self._mentions(text, access, viewer)
        # Same nonce, same claim: a retry finds its uploads already claimed by itself.
        claim = (
            f"message:{channel_id}:{viewer.user_id}:{nonce}"
            if nonce is not None
            else f"message:{secrets.token_hex(12)}"
        )
        used = await self._files.use(
            viewer,
            attachment_ids,
            purpose=UploadPurpose.ATTACHMENT,
            claim=claim,
            channel_id=channel_id,
        )

        async def bind(stored: Message) -> None:
            # Before the creation is published, so subscribers see the attachments; also on a
            # retry, whose earlier attempt may have claimed them and stored no message.
            if used:
                await self._files.bind_message(claim, used, stored.id)

        message = Message(
            id=kit.ids.next_id(),
            channel_id=channel_id,
            guild_id=access.guild_id,
            author_id=viewer.user_id,
            type=kind,
            content=text,
            reference_id=reply_to,
            mentions=mentions,
            pinned=False,
            edited_at=None,
            embeds=manual,
        )
        stored, created = await self._insert(
            message,
            nonce,
            kit.now() - NONCE_WINDOW,
            after_store=bind,
            attachment_ids=tuple(u.id for u in used),
        )
        if created:
            self._files.used(used)
            if access.direct is not None:
                await self._direct.touch(channel_id, stored.id)
            await self._mark_read_by_author(stored)
        return stored, created

    async def _keep_thread_open(self, viewer: Viewer, thread: Channel) -> None:
        """Record the send as the thread's activity before the message is stored, so an
        auto-archive sweep that read the thread earlier leaves it open; reopen it when it is
        archived (also when that happened after this operation read it). A locked thread
        reopens only for MANAGE_THREADS, which its permissions already required."""
        kit = self._guild_kit
        if not thread.archived and await kit.store.touch_thread(
            thread.guild_id, thread.id, kit.now()
        ):
            return
        await update_thread(
            kit,
            replace(thread, archived=True),
            {"archived": False, "archived_at": None},
            actor_id=viewer.user_id,
        )

    async def _slowmode(self, viewer: Viewer, access: ChannelAccess, nonce: str | None) -> None:
        """One message per `rate_limit_per_user` seconds per member in a channel with
        slowmode; MANAGE_MESSAGES or MANAGE_CHANNELS there lifts it. Counted across processes
        by the shared rate limiter. A retry with the nonce of the send that took the slot
        passes, and the store then returns the first message."""
        channel = access.guild_channel
        if channel is None or channel.rate_limit_per_user <= 0:
            return
        if access.has(Permission.MANAGE_MESSAGES) or access.has(Permission.MANAGE_CHANNELS):
            return
        now = self._kit.now()
        try:
            await self._limits.space(
                f"slowmode:{channel.id}:{viewer.user_id}",
                interval_seconds=channel.rate_limit_per_user,
                now=now.timestamp(),
                token=nonce,
            )
        except RateLimited as exc:
            wait = exc.retry_after
            raise RateLimited(
                f"slowmode is on here: you may send again in {math.ceil(wait)} s",
                retry_after=wait,
                retry_at=now + timedelta(seconds=wait),
            ) from None

    async def _insert(
        self,
        message: Message,
        nonce: str | None,
        window_start: datetime,
        *,
        after_store: Callable[[Message], Awaitable[None]] | None = None,
        attachment_ids: tuple[Snowflake, ...] = (),
    ) -> tuple[Message, bool]:
        """Store a new message and publish its creation after every message of the channel
        whose id was taken before (the turn is taken in the same step as the id)."""
        kit = self._kit
        turn = self._order.take(message.channel_id)
        try:
            pending = Pending()
            stored, created = await self._store.insert_once(
                message,
                nonce=nonce,
                window_start=window_start,
                events=kit.events(
                    pending,
                    lambda m, eid: [
                        (
                            MessageCreated(event_id=eid, message=m, attachment_ids=attachment_ids),
                            [_subject(m)],
                        )
                    ],
                ),
            )
            if after_store is not None:
                await after_store(stored)
            if created:
                await turn.wait()
                await kit.publish(pending, sent=turn.close)
        finally:
            turn.close()
        return stored, created

    async def _mark_read_by_author(self, message: Message) -> None:
        """An author has read what they wrote: their marker moves to it, and their other
        devices hear so (the marker never moves back, so a late call changes nothing). The
        event is made before the store knows whether the marker moves, so that it can be
        written in the same statement as the move (and the next sends)."""
        author = message.author_id
        state = ReadState(author, message.channel_id, message.id)
        event = ReadStateUpdated(event_id=self._kit.ids.next_id(), state=state)
        envelopes = seal(event, subjects.user(author))
        if await self._store.ack_foreseen(state, envelopes):
            await self._kit.publisher.publish(envelopes)

    async def edit(
        self,
        viewer: Viewer,
        message_id: Snowflake,
        *,
        content: str | None = None,
        embeds: Sequence[Embed] | None = None,
        suppress_embeds: bool | None = None,
    ) -> Message:
        """Change what is given: content and manual embeds (the author only; a new content
        drops the generated embeds, made again for it), or SUPPRESS_EMBEDS (the author, or
        MANAGE_MESSAGES). editedAt moves only when content or embeds change."""
        if content is None and embeds is None and suppress_embeds is None:
            raise BadUserInput("give content, embeds or suppressEmbeds", field="input")
        message, access = await self.access(viewer, message_id)
        is_author = message.author_id == viewer.user_id
        if (content is not None or embeds is not None) and not is_author:
            raise Forbidden("only the author can edit a message")
        if suppress_embeds is not None and not is_author:
            access.require(Permission.MANAGE_MESSAGES, "suppress embeds of others' messages")
        manual = None if embeds is None else embed_rules.check_manual(embeds)
        text = None if content is None else content.strip()
        if text is not None and len(text) > CONTENT_MAX:
            raise BadUserInput(f"a message has at most {CONTENT_MAX} characters", field="content")
        remaining_text = message.content if text is None else text
        remaining_embeds = message.embeds if manual is None else manual
        if not remaining_text and not remaining_embeds:
            raise BadUserInput("a message needs content or embeds", field="content")
        flags = None
        if suppress_embeds is not None:
            flags = (
                message.flags | MessageFlag.SUPPRESS_EMBEDS
                if suppress_embeds
                else message.flags & ~MessageFlag.SUPPRESS_EMBEDS
            )
            if flags == message.flags:
                flags = None
        if text == message.content:
            text = None
        if manual == message.embeds:
            manual = None
        if text is None and manual is None and flags is None:
            return message
        kit = self._kit
        pending = Pending()
        edited = await self._store.edit(
            message.channel_id,
            message_id,
            content=text,
            mentions=None if text is None else await self._mentions(text, access, viewer),
            embeds=manual,
            flags=flags,
            edited_at=None if text is None and manual is None else kit.now(),
            events=kit.events(
                pending,
                lambda m, eid: [(MessageUpdated(event_id=eid, message=m), [_subject(m)])],
            ),
        )
        if edited is None:
            raise NotFound("message not found")
        await kit.publish(pending)
        return edited

    async def set_generated_embeds_unchecked(
        self, message: Message, embeds: Sequence[Embed], *, version: str
    ) -> Message | None:
        """Store the embeds made for `message`'s content (the embedder) and publish the
        change; None when nothing was stored (deleted or edited since, or a replay)."""
        kit = self._kit
        pending = Pending()
        changed = await self._store.set_generated_embeds(
            message.channel_id,
            message.id,
            embeds,
            content=message.content,
            version=version,
            events=kit.events(
                pending,
                lambda m, eid: [(MessageUpdated(event_id=eid, message=m), [_subject(m)])],
            ),
        )
        if changed is not None:
            await kit.publish(pending)
        return changed

    async def delete(self, viewer: Viewer, message_id: Snowflake) -> Message:
        message, access = await self.access(viewer, message_id)
        if message.author_id != viewer.user_id:
            access.require(Permission.MANAGE_MESSAGES, "delete others' messages")
        deleted = await self._delete(message.channel_id, access.guild_id, [message_id])
        if not deleted:
            raise NotFound("message not found")
        return deleted[0]

    async def bulk_delete(
        self, viewer: Viewer, channel_id: Snowflake, message_ids: Sequence[Snowflake]
    ) -> list[Message]:
        access = await self.channel_access(viewer, channel_id)
        access.require(Permission.MANAGE_MESSAGES, "delete messages in bulk")
        unique = list(dict.fromkeys(message_ids))
        if not 1 <= len(unique) <= BULK_MAX:
            raise BadUserInput(f"give 1 to {BULK_MAX} message ids", field="messageIds")
        return await self._delete(channel_id, access.guild_id, unique)

    async def access(self, viewer: Viewer, message_id: Snowflake) -> tuple[Message, ChannelAccess]:
        """A message the viewer may read; NotFound for missing and for hidden alike."""
        message = await self._store.get(message_id)
        if message is None:
            raise NotFound("message not found")
        try:
            access = await self.channel_access(viewer, message.channel_id)
        except NotFound:
            raise NotFound("message not found") from None
        if not access.has(Permission.READ_MESSAGE_HISTORY):
            raise NotFound("message not found")
        return message, access

    async def history(
        self,
        viewer: Viewer,
        channel_id: Snowflake,
        *,
        limit: int,
        before: Snowflake | None = None,
        after: Snowflake | None = None,
        around: Snowflake | None = None,
        from_end: bool = True,
    ) -> HistoryPage:
        """Up to `limit` messages between the bounds: the newest of them (`from_end`), else the
        oldest; or, with `around`, the pivot and the messages on either side of it."""
        access = await self.channel_access(viewer, channel_id)
        access.require(Permission.READ_MESSAGE_HISTORY, "read the history")
        if not 1 <= limit <= PAGE_MAX:
            raise BadUserInput(f"page size is 1 to {PAGE_MAX}", field="first")
        if sum(x is not None for x in (before, after, around)) > 1 and around is not None:
            raise BadUserInput("around cannot be combined with before or after", field="around")
        page = self._store.page
        if around is not None:
            # The pivot (if it still exists) and older messages fill the first half.
            older_size, newer_size = limit - limit // 2, limit // 2
            older = await page(
                channel_id,
                before=Snowflake(around + 1),
                after=None,
                limit=older_size + 1,
                newest_first=True,
            )
            newer = await page(
                channel_id, before=None, after=around, limit=newer_size + 1, newest_first=False
            )
            return HistoryPage(
                messages=[*reversed(older[:older_size]), *newer[:newer_size]],
                has_older=len(older) > older_size,
                has_newer=len(newer) > newer_size,
            )
        if not from_end:
            rows = await page(
                channel_id, before=before, after=after, limit=limit + 1, newest_first=False
            )
            return HistoryPage(
                messages=rows[:limit], has_older=after is not None, has_newer=len(rows) > limit
            )
        rows = await page(
            channel_id, before=before, after=after, limit=limit + 1, newest_first=True
        )
        return HistoryPage(
            messages=list(reversed(rows[:limit])),
            has_older=len(rows) > limit,
            has_newer=before is not None,
        )

    async def last_message_ids(
        self, viewer: Viewer, channel_ids: Sequence[Snowflake]
    ) -> dict[Snowflake, Snowflake]:
        """For channels the caller already reached through an authorized path."""
        return await self._store.last_message_ids(channel_ids)

    async def purge_author_unchecked(
        self, guild_id: Snowflake, author_id: Snowflake, *, since: datetime
    ) -> int:
        """Delete what `author_id` wrote in the guild's channels since `since`, with
        MessagesDeleted events (no permission check: a ban's history removal). Idempotent;
        the number deleted."""
        data = await self._kit.store.load_access(guild_id, author_id)
        if data is None:
            return 0
        floor = Snowflake(max(lowest_id_at(since) - 1, 0))
        deleted = 0
        for channel in data.channels.values():
            if channel.type == ChannelType.CATEGORY:
                continue
            after = floor
            while True:
                rows = await self._store.page(
                    channel.id, before=None, after=after, limit=PAGE_MAX, newest_first=False
                )
                mine = [m.id for m in rows if m.author_id == author_id]
                if mine:
                    deleted += len(await self._delete(channel.id, guild_id, mine))
                if len(rows) < PAGE_MAX:
                    break
                after = rows[-1].id
        return deleted

    async def post_system_unchecked(
        self,
        *,
        channel_id: Snowflake,
        guild_id: Snowflake | None,
        author_id: Snowflake,
        kind: MessageType,
        reference_id: Snowflake | None = None,
        content: str = "",
    ) -> Message:
        """A system message (member joined, message pinned, thread started): no permission
        check."""
        kit = self._kit
        message = Message(
            id=kit.ids.next_id(),
            channel_id=channel_id,
            guild_id=guild_id,
            author_id=author_id,
            type=kind,
            content=content,
            reference_id=reference_id,
            mentions=Mentions(),
            pinned=False,
            edited_at=None,
        )
        stored, _ = await self._insert(message, None, kit.now())
        return stored

    async def _mentions(self, text: str, access: ChannelAccess, viewer: Viewer) -> Mentions:
        mentions = parse_mentions(text, access)
        if mentions.user_ids:
            # Users who blocked the author are not notified of the mention (the text stays).
            blockers = await self._direct.who_blocked(viewer.user_id, mentions.user_ids)
            if blockers:
                mentions = Mentions(
                    user_ids=tuple(u for u in mentions.user_ids if u not in blockers),
                    role_ids=mentions.role_ids,
                    everyone=mentions.everyone,
                )
        return mentions

    async def _delete(
        self, channel_id: Snowflake, guild_id: Snowflake | None, ids: Sequence[Snowflake]
    ) -> list[Message]:
        kit = self._kit
        pending = Pending()
        deleted = await self._store.delete(
            channel_id,
            ids,
            events=kit.events(
                pending,
                lambda ms, eid: [
                    (
                        MessagesDeleted(
                            event_id=eid,
                            channel_id=channel_id,
                            guild_id=guild_id,
                            message_ids=tuple(m.id for m in ms),
                        ),
                        [subjects.message_channel(channel_id, guild_id)],
                    )
                ],
            ),
        )
        await kit.publish(pending)
        return deleted
