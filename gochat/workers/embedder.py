"""The embedder: embeds made from the links of new and edited messages.

For each message of a batch it re-reads the message (a deleted one is skipped), and skips it
when its generated embeds are suppressed or were made for its present content already (so a
replayed event does nothing). Otherwise it unfurls up to 5 links, as many as the 10 embeds of a
message leave room for, and stores the result for that content version only while the content
is unchanged; storing publishes MessageUpdated, which reaches `events` and `channelEvents`. Its
own MessageUpdated comes back to it and is skipped as done.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

import structlog

from gochat.domain import embeds as embed_rules
from gochat.domain.events import Event, MessageCreated, MessageUpdated
from gochat.domain.messages import MessageService
from gochat.domain.records import Embed, Message, MessageFlag
from gochat.ids import Snowflake
from gochat.outbound.unfurl import Unfurler
from gochat.storage import MessageStore

log = structlog.get_logger("gochat.workers.embedder")


class EmbedderHandler:
    name = "embedder"
    event_types = frozenset({MessageCreated.TYPE, MessageUpdated.TYPE})
    batch_size = 16

    def __init__(self, messages: MessageService, store: MessageStore, unfurler: Unfurler) -> None:
        self._messages = messages
        self._store = store
        self._unfurler = unfurler
        self.recent: deque[Snowflake] = deque(maxlen=1000)
        """Ids of the messages handled lately, newest last (for tools and tests)."""

    def wants(self, event: Event) -> bool:
        return not isinstance(event, MessageCreated | MessageUpdated) or _may_need_embeds(
            event.message
        )

    async def handle(self, events: Sequence[Event]) -> None:
        ids: list[Snowflake] = []
        for event in events:
            if (
                isinstance(event, MessageCreated | MessageUpdated)
                and event.message.id not in ids
                and _may_need_embeds(event.message)
            ):
                ids.append(event.message.id)
        await asyncio.gather(*(self._embed(message_id) for message_id in ids))
        self.recent.extend(ids)

    async def _embed(self, message_id: Snowflake) -> None:
        message = await self._store.get(message_id)
        if message is None or message.flags & MessageFlag.SUPPRESS_EMBEDS:
            return
        version = embed_rules.content_version(message.content)
        if message.generated_for == version:
            return
        room = embed_rules.EMBEDS_MAX - len(message.embeds)
        links = embed_rules.links(message.content)[: max(room, 0)]
        made = await asyncio.gather(*(self._unfurler.unfurl(link) for link in links))
        found: list[Embed] = []
        for embed in made:
            if embed is not None and all(embed.url != e.url for e in found):
                found.append(embed)
        if not found and not message.generated_embeds:
            return  # nothing to show, nothing shown: no write, no event
        stored = await self._messages.set_generated_embeds_unchecked(
            message, found, version=version
        )
        if stored is not None:
            log.info("embedder.stored", message_id=message_id, embeds=len(found))


def _may_need_embeds(message: Message) -> bool:
    """Whether the message as its event carried it has links to unfurl or generated embeds to
    drop: most messages have neither, and are then passed over without reading them again."""
    return bool(message.generated_embeds) or bool(embed_rules.links(message.content))
