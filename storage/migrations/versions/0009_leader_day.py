"""The leader's day after the cutoff: household marks (pickup code and point, paid, picked), after-sale
records and the audit of leader actions.

Revision ID: 0009
Revises: 0007 (to be re-chained after 0008 at merge)
Create Date: 2026-11-29

New tables only; nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(12, 2)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "household_marks",
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("pickup_code", sa.String(), nullable=True),
        sa.Column("pickup_point", sa.String(), nullable=True),
        sa.Column("paid_amount", MONEY, nullable=True),
        sa.Column("paid_at", WHEN, nullable=True),
        sa.Column("paid_by", sa.String(), nullable=True),
        sa.Column("picked_at", WHEN, nullable=True),
        sa.Column("picked_by", sa.String(), nullable=True),
        sa.Column("picked_by_name", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_household_marks_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", "chat_key", "sender_id", name=op.f("pk_household_marks")),
        sa.UniqueConstraint("deal_id", "pickup_code", name=op.f("uq_household_marks_deal_id_pickup_code")),
    )
    op.create_table(
        "refunds",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("by_id", sa.String(), nullable=False),
        sa.Column("by_name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_refunds_deal_id_deals"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    op.create_index(op.f("ix_refunds_deal_id"), "refunds", ["deal_id"])
    op.create_table(
        "audit",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("actor_name", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("deal_id", sa.String(), nullable=True),
        sa.Column("household_chat", sa.String(), nullable=True),
        sa.Column("household_sender", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index(op.f("ix_audit_deal_id"), "audit", ["deal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_deal_id"), table_name="audit")
    op.drop_table("audit")
    op.drop_index(op.f("ix_refunds_deal_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_table("household_marks")
