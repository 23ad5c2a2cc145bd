"""An index of ``dedup_keys`` by entry, so retention can delete an entry's keys.

The table's primary key is (key, entry id): a lookup by key is one range scan,
but finding an entry's keys (to delete them with it, and for the foreign key
check when the entry goes) would read the whole table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dedup_keys_entry_id", "dedup_keys", ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dedup_keys_entry_id", table_name="dedup_keys")
