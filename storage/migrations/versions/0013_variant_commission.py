"""A per-variant commission amount (提成, yuan per unit sold) on product variants, copied into what
deals were made of when a deal opens (as the cost price is).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Two nullable columns; existing rows get NULL: no per-variant amount, the leader's rate applies.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    with op.batch_alter_table("product_variants") as batch:
        batch.add_column(sa.Column("commission", MONEY, nullable=True))
    with op.batch_alter_table("deal_item_sources") as batch:
        batch.add_column(sa.Column("commission", MONEY, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deal_item_sources") as batch:
        batch.drop_column("commission")
    with op.batch_alter_table("product_variants") as batch:
        batch.drop_column("commission")
