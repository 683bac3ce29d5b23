"""Alembic environment. GoChat always hands in an open connection (see storage.sql.migrate),
so migrations run the same on SQLite and PostgreSQL, from the CLI or at server start."""

from __future__ import annotations

from alembic import context

from gochat.storage.sql.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
