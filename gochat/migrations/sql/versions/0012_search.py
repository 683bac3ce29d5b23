"""Message search in the relational database: SQLite FTS5 or PostgreSQL full text.

One row per message id in search_documents with the filters (channel, author, flags, pinned)
and the version of the change it describes; a removed message keeps its row as a tombstone
(deleted, no text) so that an older write arriving later is ignored. The text lives in an FTS5
table keyed by the same rowid on SQLite and in a tsvector column with a GIN index on
PostgreSQL.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "search_documents",
        sa.Column("message_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False),
        sa.Column("guild_id", sa.BigInteger, nullable=True),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False),
        sa.Column("has_flags", sa.Integer, nullable=False),
        *(
            [
                sa.Column("mention_user_ids", pg.ARRAY(sa.BigInteger)),
                sa.Column("body", pg.TSVECTOR, nullable=False),
            ]
            if postgres
            else []
        ),
        sa.PrimaryKeyConstraint("message_id", name="pk_search_documents"),
    )
    op.create_index(
        "ix_search_documents_channel_id_message_id",
        "search_documents",
        ["channel_id", "message_id"],
    )
    op.create_index("ix_search_documents_guild_id", "search_documents", ["guild_id"])
    op.create_index(
        "ix_search_documents_author_id_message_id", "search_documents", ["author_id", "message_id"]
    )
    if postgres:
        op.create_index(
            "ix_search_documents_body", "search_documents", ["body"], postgresql_using="gin"
        )
        op.create_index(
            "ix_search_documents_mention_user_ids",
            "search_documents",
            ["mention_user_ids"],
            postgresql_using="gin",
        )
    else:
        # The tokens (gochat.search.text) of each live document; rowid is the message id.
        op.execute(
            "CREATE VIRTUAL TABLE search_text USING fts5("
            "body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.create_table(
            "search_mentions",
            sa.Column("user_id", sa.BigInteger, nullable=False),
            sa.Column("message_id", sa.BigInteger, nullable=False),
            sa.PrimaryKeyConstraint("user_id", "message_id", name="pk_search_mentions"),
        )
        op.create_index("ix_search_mentions_message_id", "search_mentions", ["message_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_table("search_mentions")
        op.execute("DROP TABLE search_text")
    op.drop_table("search_documents")
