"""SQLite: the near-duplicate index as a WITHOUT ROWID table.

``dedup_keys`` is nothing but its primary key (key, entry id), about forty rows
per stored entry. As an ordinary SQLite table every row lives twice, in the
rowid table and in the primary-key index; WITHOUT ROWID keeps it once, which
makes the index smaller and each entry's inserts about a fifth cheaper.
PostgreSQL is unchanged (its primary key is already the index lookups use).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLE = """
CREATE TABLE {name} (
    key BIGINT NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (key, entry_id),
    FOREIGN KEY (entry_id) REFERENCES entries (id)
){options}
"""


def _rebuild(options: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(_TABLE.format(name="dedup_keys_new", options=options))
    op.execute("INSERT INTO dedup_keys_new (key, entry_id) SELECT key, entry_id FROM dedup_keys")
    op.execute("DROP TABLE dedup_keys")
    op.execute("ALTER TABLE dedup_keys_new RENAME TO dedup_keys")


def upgrade() -> None:
    _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    _rebuild("")
