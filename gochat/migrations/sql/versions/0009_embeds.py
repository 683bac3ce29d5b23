"""Embeds: message flags, manual embeds, and generated embeds with the content version they
were made for.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("flags", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("embeds", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("generated_embeds", sa.Text, nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("generated_for", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("generated_for")
        batch.drop_column("generated_embeds")
        batch.drop_column("embeds")
        batch.drop_column("flags")
