"""Threads and channel rules: threads are channel rows (type 5) whose parent is a text channel,
with their members; text channels gain slowmode, an NSFW flag and a default auto-archive.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_CHANNEL_COLUMNS = (
    sa.Column("rate_limit_per_user", sa.Integer, nullable=False, server_default="0"),
    sa.Column("nsfw", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("default_auto_archive_minutes", sa.Integer, nullable=False, server_default="1440"),
    sa.Column("owner_id", sa.BigInteger, nullable=True),
    sa.Column("origin_message_id", sa.BigInteger, nullable=True),
    sa.Column("auto_archive_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("archived_at", UtcDateTime, nullable=True),
    sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
)


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        for column in _CHANNEL_COLUMNS:
            batch.add_column(column)
    op.create_index("ix_channels_open_threads", "channels", ["type", "archived"])
    op.create_index(
        "uq_channels_origin_message", "channels", ["guild_id", "origin_message_id"], unique=True
    )
    op.create_table(
        "thread_members",
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("thread_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("joined_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "thread_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("thread_members")
    op.drop_index("uq_channels_origin_message", "channels")
    op.drop_index("ix_channels_open_threads", "channels")
    with op.batch_alter_table("channels") as batch:
        for column in reversed(_CHANNEL_COLUMNS):
            batch.drop_column(column.name)
