"""Alembic environment: runs on the connection handed in by `o2o.store.database.migrate`."""

from __future__ import annotations

from alembic import context

from o2o.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
