"""SQLAlchemy Core tables: the schema the migrations create, used to build queries.

User-scoped tables carry user_id so that, on Citus, they can be distributed by user; the
guild-scoped tables of later areas carry guild_id in their keys.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from gochat.storage.sql.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("handle", String(32), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("email_verified_at", UtcDateTime, nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("avatar_id", BigInteger, nullable=True),
    Column("deleted_at", UtcDateTime, nullable=True),
)

user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("data", Text, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("client_ip", String(64), nullable=False),
    Column("user_agent", String(512), nullable=False),
    Index(None, "user_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("session_id", BigInteger, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("rotated_at", UtcDateTime, nullable=True),
    Index(None, "session_id"),
)

one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("new_email", String(254), nullable=True),
    Index(None, "user_id", "purpose"),
)

# One row per user: when their last data export was asked for (one per 24 hours).
data_exports = Table(
    "data_exports",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("requested_at", UtcDateTime, nullable=False),
)

# Tasks run off the request path for a command (data exports, message purges after a ban): a row
# until done. Event-driven workers queue in worker_jobs instead.
background_tasks = Table(
    "background_tasks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("guild_id", BigInteger, nullable=True),
    Column("params", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Index(None, "finished_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(255), primary_key=True),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Index(None, "created_at"),
)

worker_jobs = Table(
    "worker_jobs",
    metadata,
    Column("worker", String(64), primary_key=True),
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # The W3C traceparent of the change that published the event (gochat/tracing.py).
    Column("traceparent", String(64), nullable=True),
    Index(None, "worker", "due_at"),
)

parked_jobs = Table(
    "parked_jobs",
    metadata,
    Column("worker", String(64), primary_key=True),
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("error", String(2000), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("parked_at", UtcDateTime, nullable=False),
)

# --- guild-scoped: guild_id leads every key, so Citus can co-locate them by guild ----------

guilds = Table(
    "guilds",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("system_channel_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("icon_id", BigInteger, nullable=True),
    Column("banner_id", BigInteger, nullable=True),
)

channels = Table(
    "channels",
    metadata,
    Column("guild_id", BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("topic", String(1024), nullable=False),
    Column("parent_id", BigInteger, nullable=True),
    Column("position", Integer, nullable=False),
    Column("private", Boolean, nullable=False),
    Column("voice_region", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("user_limit", Integer, nullable=False, server_default=text("0")),
    Column("rate_limit_per_user", Integer, nullable=False, server_default="0"),
    Column("nsfw", Boolean, nullable=False, server_default=false()),
    Column("default_auto_archive_minutes", Integer, nullable=False, server_default="1440"),
    # Threads (type 5): a channel row whose parent is a text channel.
    Column("owner_id", BigInteger, nullable=True),
    Column("origin_message_id", BigInteger, nullable=True),
    Column("auto_archive_minutes", Integer, nullable=False, server_default="0"),
    Column("archived", Boolean, nullable=False, server_default=false()),
    Column("archived_at", UtcDateTime, nullable=True),
    Column("locked", Boolean, nullable=False, server_default=false()),
    # A send or a reopening; the sweeper archives only if it is still what it read.
    Column("last_activity_at", UtcDateTime, nullable=True),
    # The auto-archive sweeper reads the open threads of every guild.
    Index("ix_channels_open_threads", "type", "archived"),
    # One thread per message.
    Index("uq_channels_origin_message", "guild_id", "origin_message_id", unique=True),
)

thread_members = Table(
    "thread_members",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("thread_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("joined_at", UtcDateTime, nullable=False),
)

# Channel id -> guild, for lookups by channel id alone (a small table distributed by channel).
channel_directory = Table(
    "channel_directory",
    metadata,
    Column("channel_id", BigInteger, primary_key=True, autoincrement=False),
    Column("guild_id", BigInteger, nullable=True),
)

roles = Table(
    "roles",
    metadata,
    Column("guild_id", BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("color", Integer, nullable=False),
    Column("permissions", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    Column("hoist", Boolean, nullable=False),
    Column("mentionable", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("guild_id", BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("nickname", String(64), nullable=True),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("timeout_until", UtcDateTime, nullable=True),
    Column("voice_mute", Boolean, nullable=False, server_default=false()),
    Column("voice_deaf", Boolean, nullable=False, server_default=false()),
    Index(None, "user_id"),
)

member_roles = Table(
    "member_roles",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("role_id", BigInteger, primary_key=True),
)

channel_overwrites = Table(
    "channel_overwrites",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("channel_id", BigInteger, primary_key=True),
    Column("target_type", String(8), primary_key=True),
    Column("target_id", BigInteger, primary_key=True),
    Column("allow", BigInteger, nullable=False),
    Column("deny", BigInteger, nullable=False),
)

bans = Table(
    "bans",
    metadata,
    Column("guild_id", BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("reason", String(512), nullable=True),
    Column("moderator_id", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

invites = Table(
    "invites",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("channel_id", BigInteger, nullable=False),
    Column("inviter_id", BigInteger, nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("uses", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "guild_id"),
)

emoji = Table(
    "emoji",
    metadata,
    Column("guild_id", BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(32), nullable=False),
    Column("creator_id", BigInteger, nullable=False),
    Column("animated", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("image_id", BigInteger, nullable=True),
    UniqueConstraint("guild_id", "name"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("guild_id", BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("actor_id", BigInteger, nullable=False),
    Column("action", String(48), nullable=False),
    Column("target_type", String(16), nullable=False),
    Column("target_id", BigInteger, nullable=True),
    Column("changes", Text, nullable=False),
    Column("reason", String(512), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "guild_id", "action"),
    Index(None, "guild_id", "actor_id"),
)

# --- messages: keyed by channel, clustered by snowflake id (time order) ---------------------

messages = Table(
    "messages",
    metadata,
    Column("channel_id", BigInteger, primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("guild_id", BigInteger, nullable=True),
    Column("author_id", BigInteger, nullable=False),
    Column("type", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("reference_id", BigInteger, nullable=True),
    Column("mention_user_ids", Text, nullable=False),
    Column("mention_role_ids", Text, nullable=False),
    Column("mention_everyone", Boolean, nullable=False),
    Column("pinned", Boolean, nullable=False),
    Column("edited_at", UtcDateTime, nullable=True),
    Column("flags", Integer, nullable=False, server_default="0"),
    Column("embeds", Text, nullable=False, server_default="[]"),
    Column("generated_embeds", Text, nullable=False, server_default="[]"),
    Column("generated_for", String(64), nullable=True),
    Index(None, "id"),
)

# A client nonce maps to the message it created, for the idempotency window.
message_nonces = Table(
    "message_nonces",
    metadata,
    Column("channel_id", BigInteger, primary_key=True),
    Column("author_id", BigInteger, primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("message_id", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

reactions = Table(
    "reactions",
    metadata,
    Column("channel_id", BigInteger, primary_key=True),
    Column("message_id", BigInteger, primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Direct user mentions, per mentioned user: me.mentions and unread mention counts.
mentions = Table(
    "mentions",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("channel_id", BigInteger, primary_key=True),
    Column("message_id", BigInteger, primary_key=True),
    Column("guild_id", BigInteger, nullable=True),
    Column("author_id", BigInteger, nullable=False),
)

# Role and @everyone mentions, per channel (role_id = guild id for @everyone).
channel_mentions = Table(
    "channel_mentions",
    metadata,
    Column("channel_id", BigInteger, primary_key=True),
    Column("message_id", BigInteger, primary_key=True),
    Column("role_id", BigInteger, primary_key=True),
    Column("author_id", BigInteger, nullable=False),
)

read_states = Table(
    "read_states",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("channel_id", BigInteger, primary_key=True),
    Column("last_read_id", BigInteger, nullable=False),
)

# --- direct messages and relationships ---------------------------------------------------------

dm_channels = Table(
    "dm_channels",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", Integer, nullable=False),
    Column("owner_id", BigInteger, nullable=True),
    Column("name", String(100), nullable=True),
    Column("last_message_id", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# One row per unordered pair of users: the key that makes a 1:1 DM unique.
dm_pairs = Table(
    "dm_pairs",
    metadata,
    Column("user_low", BigInteger, primary_key=True),
    Column("user_high", BigInteger, primary_key=True),
    Column("channel_id", BigInteger, nullable=False),
)

dm_recipients = Table(
    "dm_recipients",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("channel_id", BigInteger, primary_key=True),
    Index(None, "channel_id"),
)

friendships = Table(
    "friendships",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("friend_id", BigInteger, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

friend_requests = Table(
    "friend_requests",
    metadata,
    Column("from_id", BigInteger, primary_key=True),
    Column("to_id", BigInteger, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "to_id"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("blocked_id", BigInteger, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# --- files: upload slots, and what they became once used ---------------------------------------

uploads = Table(
    "uploads",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_id", BigInteger, nullable=False, index=True),
    Column("purpose", String(16), nullable=False),
    Column("channel_id", BigInteger, nullable=True),
    Column("guild_id", BigInteger, nullable=True),
    Column("filename", String(255), nullable=False),
    Column("original_filename", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("declared_type", String(255), nullable=False),
    Column("blob_key", String(512), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("claim", String(160), nullable=True, index=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("message_id", BigInteger, nullable=True, index=True),
    Column("content_type", String(255), nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("animated", Boolean, nullable=False, default=False),
    Column("preview_key", String(512), nullable=True),
    Column("preview_failed", Boolean, nullable=False, default=False),
)
