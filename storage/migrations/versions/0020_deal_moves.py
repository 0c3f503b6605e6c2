"""A round that moved with its group's chat stays its group's: ``deal_moves``.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30

A row per move of an open round (storage/platform.py ``_move_round``): the round ``deal_id`` went
from chat ``from_key`` to ``chat_key`` at ``at`` with the group ``group_id``. The round's orders
taken in ``chat_key`` are that group's whoever had the chat when the round opened, and a copy of
the round does not reopen it in ``from_key`` (bot/usecases/group_chats.py). Starts empty: rounds
moved before it are settled as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deal_moves",
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_key", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_deal_moves_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", "chat_key", "at", name=op.f("pk_deal_moves")),
    )


def downgrade() -> None:
    op.drop_table("deal_moves")
