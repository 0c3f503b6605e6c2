"""Operators run the platform: a leader's commission terms (rate, upline, the share an upline earns)
and the schedules as store data.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Three nullable columns on ``leaders`` (existing leaders: no rate, no upline, no share) and a new
table ``schedules``, filled from tuan.toml's ``[[schedules]]`` at the next start-up.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATE = sa.String()  # a Decimal's exact text ("0.08"): no float on SQLite


def upgrade() -> None:
    with op.batch_alter_table("leaders") as batch:
        batch.add_column(sa.Column("commission_rate", RATE, nullable=True))
        batch.add_column(sa.Column("upline_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("upline_share", RATE, nullable=True))
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("cron", sa.String(), nullable=False),
        sa.Column("second", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    with op.batch_alter_table("leaders") as batch:
        batch.drop_column("upline_share")
        batch.drop_column("upline_id")
        batch.drop_column("commission_rate")
