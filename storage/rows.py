"""Port rows to statement parameters and back. Plain functions: this is the hot path of every commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import Row, Table

from bot.ports import ChatRow, DealRow, EntryRow, ItemRow, LineRow, MessageRow, NoticeRow, OutboxRow

R = TypeVar("R")

ENTRY_FIELDS = tuple(f.name for f in fields(EntryRow))
LINE_FIELDS = tuple(f.name for f in fields(LineRow))
MESSAGE_FIELDS = tuple(f.name for f in fields(MessageRow))
NOTICE_FIELDS = tuple(f.name for f in fields(NoticeRow))
CHAT_FIELDS = tuple(f.name for f in fields(ChatRow))
DEAL_FIELDS = tuple(f.name for f in fields(DealRow) if f.name != "items")
ITEM_FIELDS = tuple(f.name for f in fields(ItemRow))
OUTBOX_FIELDS = tuple(f.name for f in fields(OutboxRow))


def params(rows: Iterable[object], names: Sequence[str]) -> list[dict[str, Any]]:
    """One dict per row, keyed by the row's field names (which are also the column names)."""
    get = attrgetter(*names)
    return [dict(zip(names, get(row), strict=True)) for row in rows]


def item_params(deal: DealRow) -> list[dict[str, Any]]:
    """Parameters of a deal's ``deal_items`` rows (aliases as a JSON list)."""
    out = params(deal.items, ITEM_FIELDS)
    for p in out:
        p["deal_id"] = deal.id
        p["aliases"] = list(p["aliases"])
    return out


def columns(table: Table, names: Sequence[str], **replace: Any) -> list[Any]:
    """The table's columns in ``names`` order (a select list matching a row dataclass's fields)."""
    return [replace.get(n, table.c[n]) for n in names]


def build(cls: Callable[..., R], rows: Iterable[Row[Any]]) -> list[R]:
    """Rows selected with :func:`columns` straight into the dataclass, positionally."""
    return [cls(*row) for row in rows]


def item_row(row: Row[Any]) -> ItemRow:
    m = row._mapping
    return ItemRow(m["code"], m["name"], m["unit"], m["price"], tuple(m["aliases"]), m["stock"], m["position"])
