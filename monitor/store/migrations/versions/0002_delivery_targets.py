"""Delivery targets (one row per email recipient), retry times, and disabled channel targets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import monitor.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("disabled_at", monitor.store.models.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert", "channel", "target", name="uq_channel_states_target"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target", sa.String(length=2048), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("next_attempt_at", monitor.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.drop_constraint(batch_op.f("uq_deliveries_digest_channel"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_unique_constraint(
            "uq_deliveries_digest_target", ["digest_id", "channel", "target"]
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_digest_target", type_="unique")
        batch_op.drop_index(batch_op.f("ix_deliveries_next_attempt_at"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_digest_channel"), ["digest_id", "channel"]
        )
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("target")

    op.drop_table("channel_states")
