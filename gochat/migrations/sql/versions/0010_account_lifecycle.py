"""Account lifecycle: email changes, deleted accounts, data exports and background tasks.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("deleted_at", UtcDateTime, nullable=True))
    # The address an email-change token moves the account to.
    op.add_column("one_time_tokens", sa.Column("new_email", sa.String(254), nullable=True))
    op.create_table(
        "data_exports",
        sa.Column("user_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("requested_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_data_exports"),
    )
    op.create_table(
        "background_tasks",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_background_tasks"),
    )
    op.create_index("ix_background_tasks_finished_at", "background_tasks", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_background_tasks_finished_at", table_name="background_tasks")
    op.drop_table("background_tasks")
    op.drop_table("data_exports")
    with op.batch_alter_table("one_time_tokens") as batch:
        batch.drop_column("new_email")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deleted_at")
