"""Direct messages, friends and blocks.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dm_channels",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("type", sa.Integer, nullable=False),
        sa.Column("owner_id", sa.BigInteger, nullable=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("last_message_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dm_channels"),
    )
    op.create_table(
        "dm_pairs",
        sa.Column("user_low", sa.BigInteger, nullable=False),
        sa.Column("user_high", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("user_low", "user_high", name="pk_dm_pairs"),
    )
    op.create_table(
        "dm_recipients",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "channel_id", name="pk_dm_recipients"),
    )
    op.create_index("ix_dm_recipients_channel_id", "dm_recipients", ["channel_id"])
    op.create_table(
        "friendships",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("friend_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "friend_id", name="pk_friendships"),
    )
    op.create_table(
        "friend_requests",
        sa.Column("from_id", sa.BigInteger, nullable=False),
        sa.Column("to_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("from_id", "to_id", name="pk_friend_requests"),
    )
    op.create_index("ix_friend_requests_to_id", "friend_requests", ["to_id"])
    op.create_table(
        "blocks",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("blocked_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "blocked_id", name="pk_blocks"),
    )


def downgrade() -> None:
    op.drop_index("ix_friend_requests_to_id", table_name="friend_requests")
    op.drop_index("ix_dm_recipients_channel_id", table_name="dm_recipients")
    for table in (
        "blocks",
        "friend_requests",
        "friendships",
        "dm_recipients",
        "dm_pairs",
        "dm_channels",
    ):
        op.drop_table(table)
