"""The web dashboard: web accounts (users) and the audit read per group.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

A new table ``users`` and an index ``audit (chat_key, id)``; nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("leader_id", sa.String(), nullable=True),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"], name=op.f("fk_users_leader_id_leaders"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_index(op.f("ix_users_leader_id"), "users", ["leader_id"])
    op.create_index(op.f("ix_audit_chat_key_id"), "audit", ["chat_key", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_chat_key_id"), table_name="audit")
    op.drop_index(op.f("ix_users_leader_id"), table_name="users")
    op.drop_table("users")
