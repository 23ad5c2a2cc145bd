"""Delivery leases carry a token; one table of named job leases (retention).

``deliveries.lease_token`` is drawn afresh by every claim, so marking a row
after a send can check that the claim is still the one in force: a relay
whose lease ran out and was taken over (even by the same replica id, from
another thread) no longer owns the row.

``job_leases`` holds one row per periodic job that only one replica at a time
may run (pruning old rows), leased like feeds and deliveries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.String(length=40), nullable=True))
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("token", sa.String(length=40), nullable=True),
        sa.Column("lease_until", monitor.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_run_at", monitor.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("lease_token")
