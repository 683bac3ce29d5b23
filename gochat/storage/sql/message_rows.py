"""How a message becomes rows, shared by the transactional send and the one-statement send
(PostgreSQL), so both write exactly the same thing."""

from __future__ import annotations

import json
from typing import Any

from gochat.domain.records import Mentions, Message
from gochat.ids import Snowflake
from gochat.storage.embeds import embeds_json


def mention_values(mentions: Mentions) -> dict[str, Any]:
    return {
        "mention_user_ids": json.dumps([int(i) for i in mentions.user_ids]),
        "mention_role_ids": json.dumps([int(i) for i in mentions.role_ids]),
        "mention_everyone": mentions.everyone,
    }


def message_values(message: Message) -> dict[str, Any]:
    return {
        "channel_id": message.channel_id,
        "id": message.id,
        "guild_id": message.guild_id,
        "author_id": message.author_id,
        "type": int(message.type),
        "content": message.content,
        "reference_id": message.reference_id,
        "pinned": message.pinned,
        "edited_at": message.edited_at,
        "flags": int(message.flags),
        "embeds": embeds_json(message.embeds),
        "generated_embeds": embeds_json(message.generated_embeds),
        "generated_for": message.generated_for,
        **mention_values(message.mentions),
    }


def mentioned_users(message: Message) -> list[Snowflake]:
    """Who gets a mention row: the users mentioned, never the author."""
    return [u for u in message.mentions.user_ids if u != message.author_id]


def mentioned_roles(message: Message) -> list[Snowflake]:
    """The channel-mention rows: each role, and the guild id for @everyone."""
    roles = list(message.mentions.role_ids)
    if message.mentions.everyone and message.guild_id is not None:
        roles.append(message.guild_id)
    return roles
