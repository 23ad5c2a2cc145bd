"""``entries.published_at`` loses its index: no query reads entries by publication time
(retention and the digests' windows read ``first_seen_at``), and the index cost every
insert a write at a random place in it (#14: about a fifth of SQLite's time inserting
entries). A plain DROP INDEX on both backends: the table is not rebuilt.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_entries_published_at", table_name="entries")


def downgrade() -> None:
    op.create_index("ix_entries_published_at", "entries", ["published_at"], unique=False)
