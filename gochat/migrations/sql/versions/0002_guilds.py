"""Guilds: channels, roles, members, overwrites, bans, invites, emoji, audit log.

Guild-scoped tables lead their primary keys with guild_id so Citus can distribute and co-locate
them by guild (see docs/citus.md).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _guild_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["guild_id"], ["guilds.id"], name=f"fk_{table}_guild_id_guilds", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "guilds",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner_id", sa.BigInteger, nullable=False),
        sa.Column("system_channel_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_guilds"),
    )
    op.create_table(
        "channels",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("type", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(1024), nullable=False),
        sa.Column("parent_id", sa.BigInteger, nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("voice_region", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "id", name="pk_channels"),
        _guild_fk("channels"),
    )
    op.create_table(
        "channel_directory",
        sa.Column("channel_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("channel_id", name="pk_channel_directory"),
    )
    op.create_table(
        "roles",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("color", sa.Integer, nullable=False),
        sa.Column("permissions", sa.BigInteger, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("hoist", sa.Boolean, nullable=False),
        sa.Column("mentionable", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "id", name="pk_roles"),
        _guild_fk("roles"),
    )
    op.create_table(
        "members",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("nickname", sa.String(64), nullable=True),
        sa.Column("joined_at", UtcDateTime, nullable=False),
        sa.Column("timeout_until", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name="pk_members"),
        _guild_fk("members"),
    )
    op.create_index("ix_members_user_id", "members", ["user_id"])
    op.create_table(
        "member_roles",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("role_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", "role_id", name="pk_member_roles"),
    )
    op.create_table(
        "channel_overwrites",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("target_type", sa.String(8), nullable=False),
        sa.Column("target_id", sa.BigInteger, nullable=False),
        sa.Column("allow", sa.BigInteger, nullable=False),
        sa.Column("deny", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "channel_id", "target_type", "target_id", name="pk_channel_overwrites"
        ),
    )
    op.create_table(
        "bans",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(512), nullable=True),
        sa.Column("moderator_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name="pk_bans"),
        _guild_fk("bans"),
    )
    op.create_table(
        "invites",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("inviter_id", sa.BigInteger, nullable=False),
        sa.Column("max_uses", sa.Integer, nullable=False),
        sa.Column("uses", sa.Integer, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_invites"),
    )
    op.create_index("ix_invites_guild_id", "invites", ["guild_id"])
    op.create_table(
        "emoji",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("creator_id", sa.BigInteger, nullable=False),
        sa.Column("animated", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "id", name="pk_emoji"),
        sa.UniqueConstraint("guild_id", "name", name="uq_emoji_guild_id_name"),
        _guild_fk("emoji"),
    )
    op.create_table(
        "audit_log",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("actor_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("target_type", sa.String(16), nullable=False),
        sa.Column("target_id", sa.BigInteger, nullable=True),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("reason", sa.String(512), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "id", name="pk_audit_log"),
        _guild_fk("audit_log"),
    )
    op.create_index("ix_audit_log_guild_id_action", "audit_log", ["guild_id", "action"])
    op.create_index("ix_audit_log_guild_id_actor_id", "audit_log", ["guild_id", "actor_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_audit_log_guild_id_actor_id", "audit_log"),
        ("ix_audit_log_guild_id_action", "audit_log"),
        ("ix_invites_guild_id", "invites"),
        ("ix_members_user_id", "members"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "audit_log",
        "emoji",
        "invites",
        "bans",
        "channel_overwrites",
        "member_roles",
        "members",
        "roles",
        "channel_directory",
        "channels",
        "guilds",
    ):
        op.drop_table(table)
