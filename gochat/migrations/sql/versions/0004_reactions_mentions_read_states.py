"""Reactions, mentions and read states.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reactions",
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("emoji", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint(
            "channel_id", "message_id", "emoji", "user_id", name="pk_reactions"
        ),
    )
    op.create_table(
        "mentions",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "channel_id", "message_id", name="pk_mentions"),
    )
    op.create_table(
        "channel_mentions",
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("role_id", sa.BigInteger, nullable=False),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "message_id", "role_id", name="pk_channel_mentions"),
    )
    op.create_table(
        "read_states",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("last_read_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "channel_id", name="pk_read_states"),
    )


def downgrade() -> None:
    for table in ("read_states", "channel_mentions", "mentions", "reactions"):
        op.drop_table(table)
