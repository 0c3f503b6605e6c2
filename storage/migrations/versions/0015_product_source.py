"""Where a library product comes from: ``products.source`` "config" (imported from tuan.toml) or
"library" (added with ``tuan product add|import`` or on the web), so the tuan.toml import never
overwrites a library product that has the same code as a configured item.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

Rows of an older store get "config": before this column the import treated every product whose
code a configured item has as its own, and this keeps that behaviour for them (a library product
of an older store whose code no configured item has is not touched by the import either way).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("source", sa.String(), nullable=False, server_default="config"))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("source")
