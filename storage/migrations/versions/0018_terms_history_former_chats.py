"""Settling past periods as they were: a leader's commission terms with the time they took effect
(``leader_terms``), and the chats a group had before its chat key changed (``group_former_chats``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30

Each leader with terms gets one ``leader_terms`` row from its ``created_at`` (rounds opened before a
leader's first row are settled under that row's terms, so nothing settled so far changes);
``group_former_chats`` starts empty (chat keys changed before this revision are not known).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATE = sa.String()  # a Decimal's exact text ("0.08"), as leaders.commission_rate


def upgrade() -> None:
    terms = op.create_table(
        "leader_terms",
        sa.Column("leader_id", sa.String(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("commission_rate", RATE, nullable=True),
        sa.Column("upline_id", sa.String(), nullable=True),
        sa.Column("upline_share", RATE, nullable=True),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"], name=op.f("fk_leader_terms_leader_id_leaders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("leader_id", "since", name=op.f("pk_leader_terms")),
    )
    op.create_table(
        "group_former_chats",
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("chat_key", "until", "group_id", name=op.f("pk_group_former_chats")),
    )
    leaders = sa.table("leaders", sa.column("id", sa.String()), sa.column("created_at", sa.DateTime(timezone=True)),
                       sa.column("commission_rate", RATE), sa.column("upline_id", sa.String()),
                       sa.column("upline_share", RATE))
    op.execute(terms.insert().from_select(
        ["leader_id", "since", "commission_rate", "upline_id", "upline_share"],
        sa.select(leaders.c.id, leaders.c.created_at, leaders.c.commission_rate, leaders.c.upline_id,
                  leaders.c.upline_share).where(sa.or_(leaders.c.commission_rate.is_not(None),
                                                       leaders.c.upline_id.is_not(None),
                                                       leaders.c.upline_share.is_not(None)))))


def downgrade() -> None:
    op.drop_table("group_former_chats")
    op.drop_table("leader_terms")
