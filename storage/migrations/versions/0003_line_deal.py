"""Lines belong to a deal: a new round of a group starts with no seen lines.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lines") as batch:
        batch.add_column(sa.Column("deal_id", sa.String(), nullable=True))
        batch.create_index(batch.f("ix_lines_deal_id"), ["deal_id"])


def downgrade() -> None:
    with op.batch_alter_table("lines") as batch:
        batch.drop_index(batch.f("ix_lines_deal_id"))
        batch.drop_column("deal_id")
