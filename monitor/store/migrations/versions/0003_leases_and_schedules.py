"""Leases and due times: replicas claim feeds, deliveries and alert runs in the database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_schedules",
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("schedule", sa.String(length=200), nullable=False),
        sa.Column("next_run_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_run_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_run_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("alert"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", monitor.store.models.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("next_poll_at", monitor.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", monitor.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("fetch_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("body_hash", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("disabled_at", monitor.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("broken_reported_at", monitor.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_feeds_next_poll_at"), ["next_poll_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feeds_next_poll_at"))
        batch_op.drop_column("broken_reported_at")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("body_hash")
        batch_op.drop_column("fetch_url")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("next_poll_at")
        batch_op.drop_column("active")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")

    op.drop_table("alert_schedules")
