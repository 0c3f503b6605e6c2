"""Product variants (规格), suppliers, and what deals were made of (for purchase orders).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

New tables only; nothing existing changes. Every product keeps working: a product with no
variant rows has one variant, its own row. The suppliers named by existing products become
supplier rows (id and name the text of ``products.supplier``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(12, 2)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    suppliers = op.create_table(
        "suppliers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
    )
    op.create_table(
        "product_variants",
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("cost", MONEY, nullable=True),
        sa.Column("supplier", sa.String(), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_variants_product_id_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", "spec", name=op.f("pk_product_variants")),
    )
    op.create_table(
        "deal_supplies",
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_deal_supplies_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", name=op.f("pk_deal_supplies")),
    )
    op.create_index(op.f("ix_deal_supplies_delivery_date"), "deal_supplies", ["delivery_date"], unique=False)
    op.create_table(
        "deal_item_sources",
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("cost", MONEY, nullable=True),
        sa.Column("supplier", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_deal_item_sources_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", "item_code", name=op.f("pk_deal_item_sources")),
    )
    conn = op.get_bind()
    names = sorted({s for (s,) in conn.execute(sa.text("SELECT DISTINCT supplier FROM products")) if s})
    if names:
        now = datetime.now(UTC)
        now_value = now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now
        op.bulk_insert(suppliers, [{"id": n, "name": n, "contact": "", "updated_at": now_value} for n in names])


def downgrade() -> None:
    op.drop_table("deal_item_sources")
    op.drop_index(op.f("ix_deal_supplies_delivery_date"), table_name="deal_supplies")
    op.drop_table("deal_supplies")
    op.drop_table("product_variants")
    op.drop_table("suppliers")
