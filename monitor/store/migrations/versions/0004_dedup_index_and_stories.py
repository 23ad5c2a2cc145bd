"""Near-duplicate index, duplicate decisions and stories, seeds, and failing-feed notices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert", "feed_id", name="uq_feed_notices_alert_feed"),
    )
    with op.batch_alter_table("feed_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_notices_feed_id"), ["feed_id"], unique=False)
    op.create_table(
        "dedup_keys",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
        ),
        sa.PrimaryKeyConstraint("key", "entry_id"),
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dup_signal", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("dup_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dup_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dup_outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f("ix_entries_duplicate_of"), ["duplicate_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_entries_story_id"), ["story_id"], unique=False)
        batch_op.create_foreign_key("fk_entries_duplicate_of", "entries", ["duplicate_of"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_entries_duplicate_of", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_entries_story_id"))
        batch_op.drop_index(batch_op.f("ix_entries_duplicate_of"))
        batch_op.drop_column("source")
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("story_id")
        batch_op.drop_column("dup_outcome")
        batch_op.drop_column("dup_reason")
        batch_op.drop_column("dup_score")
        batch_op.drop_column("dup_signal")
        batch_op.drop_column("duplicate_of")

    op.drop_table("dedup_keys")
    op.drop_table("feed_notices")
