"""Messages and send nonces.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("type", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("reference_id", sa.BigInteger, nullable=True),
        sa.Column("mention_user_ids", sa.Text, nullable=False),
        sa.Column("mention_role_ids", sa.Text, nullable=False),
        sa.Column("mention_everyone", sa.Boolean, nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False),
        sa.Column("edited_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("channel_id", "id", name="pk_messages"),
    )
    op.create_index("ix_messages_id", "messages", ["id"])
    op.create_table(
        "message_nonces",
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "author_id", "nonce", name="pk_message_nonces"),
    )


def downgrade() -> None:
    op.drop_table("message_nonces")
    op.drop_index("ix_messages_id", table_name="messages")
    op.drop_table("messages")
