"""Alembic environment: always run with a connection handed in by monitor.store.db."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import monitor.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `monitor db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
