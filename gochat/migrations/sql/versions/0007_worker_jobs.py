"""Worker jobs: each worker kind's durable queue (embedded) and the events workers parked.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gochat.storage.sql.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_jobs",
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("worker", "event_id"),
    )
    op.create_index("ix_worker_jobs_worker_due_at", "worker_jobs", ["worker", "due_at"])
    op.create_table(
        "parked_jobs",
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("error", sa.String(2000), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("parked_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("worker", "event_id"),
    )


def downgrade() -> None:
    op.drop_table("parked_jobs")
    op.drop_index("ix_worker_jobs_worker_due_at", table_name="worker_jobs")
    op.drop_table("worker_jobs")
