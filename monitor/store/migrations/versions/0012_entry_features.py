"""``entry_features``: each indexed entry's comparison features, packed.

A duplicate lookup's candidates were fingerprinted again from their stored text, about
0.3 ms each, and a new article's lookup compares up to two dozen of them (#14:
``bench/dedup.py``'s p99). Reading them packed (:mod:`monitor.dedup.packed`) takes about
a seventh of that. A table of its own, keyed by the entry: the entries' rows, which most
queries read, stay as they are. Entries stored before it have no row and are
fingerprinted from their text as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_features",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"]),
        sa.PrimaryKeyConstraint("entry_id"),
    )


def downgrade() -> None:
    op.drop_table("entry_features")
