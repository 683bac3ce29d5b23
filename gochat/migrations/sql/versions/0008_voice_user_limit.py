"""Voice: a voice channel's user limit (how many members may be in voice there at once, 0: no
limit), and a member's server mute and deafen, which outlast their voice sessions.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "channels",
        sa.Column("user_limit", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    for column in ("voice_mute", "voice_deaf"):
        op.add_column(
            "members",
            sa.Column(column, sa.Boolean, nullable=False, server_default=sa.false()),
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("voice_deaf")
        batch.drop_column("voice_mute")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("user_limit")
