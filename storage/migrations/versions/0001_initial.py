"""Initial schema: deals, items, chats, messages, entries, lines, notices, processed deliveries.

Revision ID: 0001
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("cutoff", TS, nullable=True),
        sa.Column("max_qty", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    op.create_table(
        "deal_items",
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_items_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("deal_id", "code", name=op.f("pk_deal_items")),
    )
    op.create_table(
        "chats",
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("deal_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_chats_deal_id_deals")),
        sa.PrimaryKeyConstraint("chat_key", name=op.f("pk_chats")),
    )
    op.create_index(op.f("ix_chats_deal_id"), "chats", ["deal_id"])
    op.create_table(
        "messages",
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("sender_name", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("edit_of", sa.String(), nullable=True),
        sa.Column("recall_of", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_messages")),
    )
    op.create_index(op.f("ix_messages_chat_key_message_id"), "messages", ["chat_key", "message_id"])
    op.create_table(
        "entries",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("sender_name", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("seq", ID, nullable=False),
        sa.Column("line_id", ID, nullable=True),
        sa.Column("superseded_seq", ID, nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_entries_deal_id_deals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entries")),
    )
    op.create_index(op.f("ix_entries_deal_id"), "entries", ["deal_id"])
    op.create_table(
        "lines",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("text_key", sa.Text(), nullable=False),
        sa.Column("number", sa.String(), nullable=True),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("seq", ID, nullable=False),
        sa.Column("alive", sa.Boolean(), nullable=False),
        sa.Column("replaced_by", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
    )
    op.create_index(op.f("ix_lines_chat_key"), "lines", ["chat_key"])
    op.create_table(
        "notices",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("seq", ID, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_chat_key"), "notices", ["chat_key"])
    op.create_table(
        "processed_deliveries",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("update_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("source", "update_id", name=op.f("pk_processed_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("processed_deliveries")
    op.drop_index(op.f("ix_notices_chat_key"), table_name="notices")
    op.drop_table("notices")
    op.drop_index(op.f("ix_lines_chat_key"), table_name="lines")
    op.drop_table("lines")
    op.drop_index(op.f("ix_entries_deal_id"), table_name="entries")
    op.drop_table("entries")
    op.drop_index(op.f("ix_messages_chat_key_message_id"), table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_chats_deal_id"), table_name="chats")
    op.drop_table("chats")
    op.drop_table("deal_items")
    op.drop_table("deals")
