"""Initial schema: feeds, entries, matches, digests, alert items, deliveries.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("created_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digests_alert"), ["alert"], unique=False)

    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("last_modified", sa.String(length=200), nullable=True),
        sa.Column("first_polled_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_polled_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.String(length=64), nullable=False),
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("sent_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "channel", name="uq_deliveries_digest_channel"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_alert"), ["alert"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_status"), ["status"], unique=False)

    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("guid", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("canonical_link", sa.String(length=2048), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("published_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("author", sa.String(length=500), nullable=True),
        sa.Column("first_seen_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.Column("alertable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entries_canonical_link"), ["canonical_link"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entries_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_entries_first_seen_at"), ["first_seen_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entries_published_at"), ["published_at"], unique=False)

    op.create_table(
        "alert_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.String(), nullable=True),
        sa.Column("created_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert", "entry_id", name="uq_alert_items_alert_entry"),
    )
    with op.batch_alter_table("alert_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_items_alert"), ["alert"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_items_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_items_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("watch", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("matched_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "watch", name="uq_matches_entry_watch"),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matches_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_watch"), ["watch"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matches_watch"))
        batch_op.drop_index(batch_op.f("ix_matches_entry_id"))

    op.drop_table("matches")
    with op.batch_alter_table("alert_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_items_entry_id"))
        batch_op.drop_index(batch_op.f("ix_alert_items_digest_id"))
        batch_op.drop_index(batch_op.f("ix_alert_items_alert"))

    op.drop_table("alert_items")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entries_published_at"))
        batch_op.drop_index(batch_op.f("ix_entries_first_seen_at"))
        batch_op.drop_index(batch_op.f("ix_entries_feed_id"))
        batch_op.drop_index(batch_op.f("ix_entries_canonical_link"))

    op.drop_table("entries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_deliveries_digest_id"))
        batch_op.drop_index(batch_op.f("ix_deliveries_alert"))

    op.drop_table("deliveries")
    op.drop_table("feeds")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digests_alert"))

    op.drop_table("digests")
