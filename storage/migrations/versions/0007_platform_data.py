"""Platform data: groups, leaders (their accounts and the groups they lead) and the product library.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

New tables only; nothing existing changes. They fill at the next start-up, when tuan.toml is
imported into them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("pickup_points", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("chat_key", name=op.f("uq_groups_chat_key")),
    )
    op.create_table(
        "leaders",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaders")),
    )
    op.create_table(
        "leader_accounts",
        sa.Column("leader_id", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"], name=op.f("fk_leader_accounts_leader_id_leaders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("leader_id", "platform", "account_id", name=op.f("pk_leader_accounts")),
    )
    op.create_table(
        "group_leaders",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("leader_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_group_leaders_group_id_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"], name=op.f("fk_group_leaders_leader_id_leaders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "leader_id", name=op.f("pk_group_leaders")),
    )
    op.create_index(op.f("ix_group_leaders_leader_id"), "group_leaders", ["leader_id"])
    op.create_table(
        "products",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("supplier", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )


def downgrade() -> None:
    op.drop_table("products")
    op.drop_index(op.f("ix_group_leaders_leader_id"), table_name="group_leaders")
    op.drop_table("group_leaders")
    op.drop_table("leader_accounts")
    op.drop_table("leaders")
    op.drop_table("groups")
