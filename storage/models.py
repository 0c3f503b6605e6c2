"""The schema: one table per row type of :mod:`bot.ports`, plus the exactly-once marks.

The models describe the schema (and drive Alembic's autogenerate); the repository writes
through their tables with Core bulk statements. Migrations, not ``create_all``, build it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import Money, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids; plain INTEGER on SQLite so the primary key is the rowid (and autoincrements).
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every Tuan table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Deal(Base):
    """A deal: one catalog, shared by the chats bound to it."""

    __tablename__ = "deals"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    title: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    cutoff: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_qty: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String)
    max_line_qty: Mapped[int | None] = mapped_column(Integer)


class DealItem(Base):
    """An item of a deal's catalog; ``position`` keeps the catalog's order."""

    __tablename__ = "deal_items"

    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    unit: Mapped[str] = mapped_column(String)
    price: Mapped[Decimal] = mapped_column(Money)
    aliases: Mapped[list[Any]] = mapped_column(JSON)
    stock: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)


class Chat(Base):
    """A group chat and the deal it is currently bound to."""

    __tablename__ = "chats"

    chat_key: Mapped[str] = mapped_column(String, primary_key=True)
    platform: Mapped[str] = mapped_column(String)
    external_id: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String)
    deal_id: Mapped[str | None] = mapped_column(ForeignKey("deals.id"), index=True)


class Message(Base):
    """A handled message. Platforms may reuse a message id across edits, so ``seq`` is the key."""

    __tablename__ = "messages"
    __table_args__ = (Index(None, "chat_key", "message_id"),)

    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    chat_key: Mapped[str] = mapped_column(String)
    message_id: Mapped[str] = mapped_column(String)
    sender_id: Mapped[str] = mapped_column(String)
    sender_name: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    is_admin: Mapped[bool] = mapped_column(Boolean)
    edit_of: Mapped[str | None] = mapped_column(String)
    recall_of: Mapped[str | None] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)


class Entry(Base):
    """One (item, signed quantity) a message gave a resident within a deal."""

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    chat_key: Mapped[str] = mapped_column(String)
    sender_id: Mapped[str] = mapped_column(String)
    sender_name: Mapped[str] = mapped_column(String)
    label: Mapped[str] = mapped_column(String)
    item_code: Mapped[str] = mapped_column(String)
    qty: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String)
    message_id: Mapped[str] = mapped_column(String)
    seq: Mapped[int] = mapped_column(Id)
    line_id: Mapped[int | None] = mapped_column(Id)
    superseded_seq: Mapped[int | None] = mapped_column(Id)
    removed: Mapped[bool] = mapped_column(Boolean)


class Line(Base):
    """A 接龙 list line seen in a chat."""

    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    chat_key: Mapped[str] = mapped_column(String, index=True)
    text_key: Mapped[str] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(String)
    label: Mapped[str] = mapped_column(String)
    owner_id: Mapped[str] = mapped_column(String)
    message_id: Mapped[str] = mapped_column(String)
    seq: Mapped[int] = mapped_column(Id)
    alive: Mapped[bool] = mapped_column(Boolean)
    replaced_by: Mapped[int | None] = mapped_column(Id)
    deal_id: Mapped[str | None] = mapped_column(String, index=True)


class Notice(Base):
    """An order line the bot did not apply (unclear or refused); ``id`` keeps commit order."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    chat_key: Mapped[str] = mapped_column(String, index=True)
    message_id: Mapped[str] = mapped_column(String)
    seq: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)


class ProcessedDelivery(Base):
    """An exactly-once mark: this platform update was handled and committed."""

    __tablename__ = "processed_deliveries"

    source: Mapped[str] = mapped_column(String, primary_key=True)
    update_id: Mapped[str] = mapped_column(String, primary_key=True)


class SentMark(Base):
    """A once-only mark: a scheduled post (job id and slot) that went out, or is going out."""

    __tablename__ = "sent_marks"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Outbox(Base):
    """What the bot is to say about a committed message, until it is delivered (then deleted).

    Written in the message's transaction; keyed by the message's ``seq`` and the effect's place ``n``.
    """

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chat_key: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    target: Mapped[str | None] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    mention_id: Mapped[str | None] = mapped_column(String)
    mention_name: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Core handles for the repository's bulk statements.
DEALS: Table = Base.metadata.tables["deals"]
ITEMS: Table = Base.metadata.tables["deal_items"]
CHATS: Table = Base.metadata.tables["chats"]
MESSAGES: Table = Base.metadata.tables["messages"]
ENTRIES: Table = Base.metadata.tables["entries"]
LINES: Table = Base.metadata.tables["lines"]
NOTICES: Table = Base.metadata.tables["notices"]
PROCESSED: Table = Base.metadata.tables["processed_deliveries"]
MARKS: Table = Base.metadata.tables["sent_marks"]
OUTBOX: Table = Base.metadata.tables["outbox"]
