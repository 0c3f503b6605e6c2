"""The outbox: what the bot is to say about a committed message (✅, a question, a refusal), until delivered.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", ID, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mention_id", sa.String(), nullable=True),
        sa.Column("mention_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", "n", name=op.f("pk_outbox")),
    )


def downgrade() -> None:
    op.drop_table("outbox")
