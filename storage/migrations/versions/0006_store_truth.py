"""The store is the truth: deal versions, the chats of each round, messages tagged with their deal, id blocks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Existing rows are carried over: every deal starts at version 0 (no process has cached it under
this schema), a closed deal's ``closed_at`` is unknown (NULL), a round's chats are read from the
chats bound to it and from its entries and lines, and a message's deal from its entries and lines,
else the deal its chat is bound to now. Id blocks start above every id already used, so new ids
sort after old ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOCK = 1024


def upgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("deal_id", sa.String(), nullable=True))
        batch.create_index(batch.f("ix_messages_deal_id"), ["deal_id"])
    op.create_table(
        "deal_chats",
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_deal_chats_deal_id_deals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", "chat_key", name=op.f("pk_deal_chats")),
    )
    op.create_index(op.f("ix_deal_chats_chat_key"), "deal_chats", ["chat_key"])
    op.create_table(
        "id_blocks",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_id_blocks")),
    )
    conn = op.get_bind()
    conn.execute(sa.text(
        "INSERT INTO deal_chats (deal_id, chat_key) "
        "SELECT deal_id, chat_key FROM chats WHERE deal_id IS NOT NULL "
        "UNION SELECT deal_id, chat_key FROM entries "
        "UNION SELECT deal_id, chat_key FROM lines WHERE deal_id IS NOT NULL AND deal_id IN (SELECT id FROM deals)"
    ))
    conn.execute(sa.text(
        "UPDATE messages SET deal_id = COALESCE("
        " (SELECT min(e.deal_id) FROM entries e WHERE e.seq = messages.seq),"
        " (SELECT min(l.deal_id) FROM lines l WHERE l.seq = messages.seq),"
        " (SELECT c.deal_id FROM chats c WHERE c.chat_key = messages.chat_key))"
    ))
    top = conn.execute(sa.text(
        "SELECT max(m) FROM (SELECT max(seq) AS m FROM messages UNION ALL SELECT max(id) FROM entries"
        " UNION ALL SELECT max(id) FROM lines) AS t"
    )).scalar() or 0
    first = int(top) // BLOCK + 1
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"CREATE SEQUENCE tuan_id_blocks START WITH {first}"))
    conn.execute(sa.text("INSERT INTO id_blocks (name, next_block) VALUES ('ids', :first)"), {"first": first})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE tuan_id_blocks")
    op.drop_table("id_blocks")
    op.drop_index(op.f("ix_deal_chats_chat_key"), table_name="deal_chats")
    op.drop_table("deal_chats")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(batch.f("ix_messages_deal_id"))
        batch.drop_column("deal_id")
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("version")
