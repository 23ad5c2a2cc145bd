"""``articles``: whether a failed read may fix itself, and how many reads were made, so a
page that timed out or answered 5xx/429 is tried again (``full_text.retry_after``,
``full_text.max_attempts``). Rows recorded before count as one read, failed for good.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(
            sa.Column("temporary", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("attempts")
        batch.drop_column("temporary")
