"""Per-deal change marks: ``touched`` on messages, entries and lines (the deal version that last wrote
the row), so a worker whose cached deal is stale reads only what changed since (issue 10).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

Nullable columns and an index each; rows already there keep NULL (a cache built after the upgrade
reads them whole once).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("messages", "entries", "lines")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("touched", ID, nullable=True))
        op.create_index(f"ix_{table}_deal_touched", table, ["deal_id", "touched"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_deal_touched", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("touched")
