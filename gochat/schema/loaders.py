"""DataLoaders, created per operation (HTTP request or delivered subscription event), so a
cached row never outlives the operation that read it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from gochat.domain.records import Emoji, ReactionCount, Upload, User, Viewer
from gochat.domain.services import Services
from gochat.ids import Snowflake

# Counted up to this many: a thread's messageCount.
THREAD_COUNT_CAP = 100_000

K = TypeVar("K")
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose cached futures survive the cancellation of one of their awaiters.

    Every field that loads one key awaits the same future. When a field errors, execution
    cancels its pending siblings; awaiting the bare future would cancel it for every other
    field that shares it, anywhere in the operation, and their CancelledError would escape
    execution as a server error. Each caller awaits a shield of the future instead.
    """

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


class UserByIdLoader(SharedLoader[Snowflake, User | None]):
    def __init__(self, services: Services) -> None:
        async def load(ids: Sequence[Snowflake]) -> list[User | None]:
            found = await services.accounts.get_users(list(ids))
            return [found.get(i) for i in ids]

        super().__init__(load_fn=load)


class ReactionsByMessageLoader(SharedLoader[tuple[Snowflake, Snowflake], list[ReactionCount]]):
    """Reaction counts keyed by (channel id, message id), one query per channel. Only for
    messages the caller already reached through an authorized path."""

    def __init__(self, services: Services, viewer: Callable[[], Awaitable[Viewer]]) -> None:
        async def load(keys: Sequence[tuple[Snowflake, Snowflake]]) -> list[list[ReactionCount]]:
            me = await viewer()
            by_channel: dict[Snowflake, list[Snowflake]] = {}
            for channel_id, message_id in keys:
                by_channel.setdefault(channel_id, []).append(message_id)
            found: dict[Snowflake, list[ReactionCount]] = {}
            for channel_id, message_ids in by_channel.items():
                found.update(await services.reactions.counts(me, channel_id, message_ids))
            return [found.get(message_id, []) for _, message_id in keys]

        super().__init__(load_fn=load)


class LastMessageByChannelLoader(SharedLoader[Snowflake, Snowflake | None]):
    def __init__(self, services: Services, viewer: Callable[[], Awaitable[Viewer]]) -> None:
        async def load(keys: Sequence[Snowflake]) -> list[Snowflake | None]:
            found = await services.messages.last_message_ids(await viewer(), list(keys))
            return [found.get(k) for k in keys]

        super().__init__(load_fn=load)


class MessageCountByThreadLoader(SharedLoader[Snowflake, int]):
    """Threads' message counts (up to `cap`), one store read per operation."""

    def __init__(
        self, services: Services, viewer: Callable[[], Awaitable[Viewer]], *, cap: int
    ) -> None:
        async def load(keys: Sequence[Snowflake]) -> list[int | BaseException]:
            found = await services.threads.message_counts(await viewer(), list(keys), cap=cap)
            return [found[k] for k in keys]

        super().__init__(load_fn=load)


class AttachmentsByMessageLoader(DataLoader[Snowflake, list[Upload]]):
    """Only for messages the caller already reached through an authorized path."""

    def __init__(self, services: Services) -> None:
        async def load(ids: Sequence[Snowflake]) -> list[list[Upload]]:
            found = await services.attachments.attachments_of(list(ids))
            return [found.get(i, []) for i in ids]

        super().__init__(load_fn=load)


class EmojiByIdLoader(DataLoader[Snowflake, Emoji | None]):
    def __init__(self, services: Services) -> None:
        async def load(ids: Sequence[Snowflake]) -> list[Emoji | None]:
            found = await services.emoji.get_many(list(ids))
            return [found.get(i) for i in ids]

        super().__init__(load_fn=load)


class Loaders:
    def __init__(self, services: Services, viewer: Callable[[], Awaitable[Viewer]]) -> None:
        self.user_by_id = UserByIdLoader(services)
        self.reactions_by_message = ReactionsByMessageLoader(services, viewer)
        self.last_message_by_channel = LastMessageByChannelLoader(services, viewer)
        self.message_count_by_thread = MessageCountByThreadLoader(
            services, viewer, cap=THREAD_COUNT_CAP
        )
        self.attachments_by_message = AttachmentsByMessageLoader(services)
        self.emoji_by_id = EmojiByIdLoader(services)
