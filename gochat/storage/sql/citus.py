"""How each table of the SQL schema is placed on Citus (docs/citus.md explains the choices).

Nothing here runs on plain PostgreSQL or SQLite: this is the plan a Citus deployment applies
after the migrations, kept next to the tables so that a test can check the schema against it
(tests/contract/test_citus_layout.py) and the documented calls can be generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distributed:
    column: str
    colocate_with: str | None = None  # None: the first table of its own co-location group


# Everything about one guild lives on one worker: its permission snapshot, its changes and the
# lock on its `guilds` row are single-shard.
GUILD_GROUP = {
    "guilds": Distributed("id"),
    "channels": Distributed("guild_id", "guilds"),
    "roles": Distributed("guild_id", "guilds"),
    "members": Distributed("guild_id", "guilds"),
    "member_roles": Distributed("guild_id", "guilds"),
    "channel_overwrites": Distributed("guild_id", "guilds"),
    "bans": Distributed("guild_id", "guilds"),
    "emoji": Distributed("guild_id", "guilds"),
    "audit_log": Distributed("guild_id", "guilds"),
    "thread_members": Distributed("guild_id", "guilds"),
}

# Messages and what hangs off them, by channel (guild channels and direct messages alike): a
# history page, a send and its nonce claim are single-shard.
CHANNEL_GROUP = {
    "messages": Distributed("channel_id"),
    "message_nonces": Distributed("channel_id", "messages"),
    "reactions": Distributed("channel_id", "messages"),
    "channel_mentions": Distributed("channel_id", "messages"),
    "dm_channels": Distributed("id", "messages"),
}

# What one user reads about themselves: settings, mentions, read states, DMs, relationships.
USER_GROUP = {
    "user_settings": Distributed("user_id"),
    "mentions": Distributed("user_id", "user_settings"),
    "read_states": Distributed("user_id", "user_settings"),
    "dm_recipients": Distributed("user_id", "user_settings"),
    "friendships": Distributed("user_id", "user_settings"),
    "friend_requests": Distributed("from_id", "user_settings"),
    "blocks": Distributed("user_id", "user_settings"),
    "dm_pairs": Distributed("user_low", "user_settings"),
    "data_exports": Distributed("user_id", "user_settings"),
}

# Looked up by a key of their own, never joined by guild or user on a hot path.
OWN_KEY = {
    "sessions": Distributed("id"),
    "refresh_tokens": Distributed("digest"),
    "one_time_tokens": Distributed("digest"),
    "invites": Distributed("code"),
    "uploads": Distributed("id"),
    "outbox": Distributed("event_id"),
    "worker_jobs": Distributed("event_id"),
    "parked_jobs": Distributed("event_id"),
    "background_tasks": Distributed("id"),
}

DISTRIBUTED: dict[str, Distributed] = {**GUILD_GROUP, **CHANNEL_GROUP, **USER_GROUP, **OWN_KEY}

# Read from every group and written far less often than read: a copy on each worker joins
# locally. `users` is here for its unique email and handle, which a distributed table could
# only enforce if they were its distribution column.
REFERENCE = ("users", "channel_directory")

# The foreign keys a Citus deployment drops: they join distributed tables that are not
# co-located. The rows they point at are never deleted (sessions are revoked, not removed).
DROPPED_FOREIGN_KEYS = {"fk_refresh_tokens_session_id_sessions": "refresh_tokens"}


def statements() -> list[str]:
    """The SQL a Citus coordinator runs once the migrations are at head, in order."""
    out = ["CREATE EXTENSION IF NOT EXISTS citus;"]
    out += [
        f"ALTER TABLE {table} DROP CONSTRAINT {name};"
        for name, table in DROPPED_FOREIGN_KEYS.items()
    ]
    out += [f"SELECT create_reference_table('{table}');" for table in REFERENCE]
    for table, plan in DISTRIBUTED.items():
        colocation = (
            f", colocate_with => '{plan.colocate_with}'"
            if plan.colocate_with
            else ", colocate_with => 'none'"
        )
        out.append(f"SELECT create_distributed_table('{table}', '{plan.column}'{colocation});")
    return out
