"""Retired leaders and groups: ``leaders.retired_at`` and ``groups.retired_at`` (NULL: active), set
by `tuan leader remove` and `tuan group remove`. A retired row is kept (its orders, payments,
refunds, settlement and audit stay readable and settle), but it no longer leads or takes new rounds
(docs/platform.md, "Removing a leader or a group").

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

Rows of an older store are active.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("leaders", "groups"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("leaders", "groups"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("retired_at")
