"""Settling past rounds by the leaders of their time: a leader's role and retirement through time
(``leader_standing``) and a group's leaders through time (``group_leader_sets``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30

Both start empty: a leader (a group) without a row has their current role and retirement (its
current leaders) at every time, which is what was settled so far; the first change records the
state it replaces just before it (storage/leadership.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leader_standing",
        sa.Column("leader_id", sa.String(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"], name=op.f("fk_leader_standing_leader_id_leaders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("leader_id", "since", name=op.f("pk_leader_standing")),
    )
    op.create_table(
        "group_leader_sets",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leader_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "since", name=op.f("pk_group_leader_sets")),
    )


def downgrade() -> None:
    op.drop_table("group_leader_sets")
    op.drop_table("leader_standing")
