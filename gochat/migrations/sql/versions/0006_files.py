"""Files: upload slots, which become message attachments, avatars, guild icons and banners, and
emoji images once used.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("owner_id", sa.BigInteger, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=True),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("original_filename", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("declared_type", sa.String(255), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("claim", sa.String(160), nullable=True),
        sa.Column("claimed_at", UtcDateTime, nullable=True),
        sa.Column("message_id", sa.BigInteger, nullable=True),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("animated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("preview_key", sa.String(512), nullable=True),
        sa.Column("preview_failed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
    )
    op.create_index("ix_uploads_owner_id", "uploads", ["owner_id"])
    op.create_index("ix_uploads_message_id", "uploads", ["message_id"])
    op.create_index("ix_uploads_claim", "uploads", ["claim"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("avatar_id", sa.BigInteger, nullable=True))
    with op.batch_alter_table("guilds") as batch:
        batch.add_column(sa.Column("icon_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("banner_id", sa.BigInteger, nullable=True))
    with op.batch_alter_table("emoji") as batch:
        batch.add_column(sa.Column("image_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emoji") as batch:
        batch.drop_column("image_id")
    with op.batch_alter_table("guilds") as batch:
        batch.drop_column("banner_id")
        batch.drop_column("icon_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("avatar_id")
    op.drop_index("ix_uploads_claim", table_name="uploads")
    op.drop_index("ix_uploads_message_id", table_name="uploads")
    op.drop_index("ix_uploads_owner_id", table_name="uploads")
    op.drop_table("uploads")
