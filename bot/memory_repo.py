"""``MemoryRepository``: the store port in plain Python, for fast unit tests.

It keeps the same contract as ``storage.sql.SqlRepository`` (the shared suite in
tests/test_store_contract.py runs on both): rows are copied in and out, so later mutations
by the caller never leak into the store, and a commit is validated whole before anything
is applied. Violations raise ``ValueError`` (duplicate key, unknown deal, naive datetime,
price with more than 2 decimals); updating an unknown entry or line raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from bot.ports import (
    ASK_KIND,
    Changeset,
    ChatRow,
    DealRow,
    EntryRow,
    ItemRow,
    LineRow,
    MessageRow,
    NoticeRow,
    OutboxRow,
    Snapshot,
)

K = TypeVar("K")
_CENT = Decimal("0.01")
_MAX_PRICE = Decimal(10) ** 10


class MemoryRepository:
    """Dictionaries of rows keyed like the SQL tables' primary keys."""

    def __init__(self) -> None:
        self._marks: dict[str, datetime] = {}
        self._deals: dict[str, DealRow] = {}
        self._chats: dict[str, ChatRow] = {}
        self._messages: dict[int, MessageRow] = {}
        self._entries: dict[int, EntryRow] = {}
        self._lines: dict[int, LineRow] = {}
        self._notices: list[NoticeRow] = []
        self._processed: set[tuple[str, str]] = set()
        self._outbox: dict[tuple[int, int], OutboxRow] = {}

    def load_open(self) -> Snapshot:
        open_ids = {d.id for d in self._deals.values() if d.status == "open"}
        open_chats = {c.chat_key for c in self._chats.values() if c.deal_id in open_ids}
        return Snapshot(
            deals=self._sorted_deals(d for d in self._deals.values() if d.id in open_ids),
            chats=[replace(c) for _, c in sorted(self._chats.items())],
            entries=[replace(e) for _, e in sorted(self._entries.items()) if e.deal_id in open_ids],
            lines=[replace(row) for _, row in sorted(self._lines.items()) if row.deal_id in open_ids],
            messages=[replace(m, text=m.text if m.kind == ASK_KIND else "") for _, m in sorted(self._messages.items())
                      if m.chat_key in open_chats],
            next_seq=max(self._messages, default=0) + 1,
            next_entry_id=max(self._entries, default=0) + 1,
            next_line_id=max(self._lines, default=0) + 1,
        )

    def commit(self, changes: Changeset) -> None:
        self.commit_many([changes])

    def commit_many(self, changes: list[Changeset]) -> None:
        self._validate(changes)
        for cs in changes:
            self._apply(cs)

    def is_processed(self, source: str, update_id: str) -> bool:
        return (source, update_id) in self._processed

    def deal_entries(self, deal_id: str) -> list[EntryRow]:
        return [replace(e) for _, e in sorted(self._entries.items()) if e.deal_id == deal_id]

    def get_deal(self, deal_id: str) -> DealRow | None:
        deal = self._deals.get(deal_id)
        return None if deal is None else _copy_deal(deal)

    def notices(self, chat_keys: list[str] | None = None) -> list[NoticeRow]:
        keys = None if chat_keys is None else set(chat_keys)
        return [replace(n) for n in self._notices if keys is None or n.chat_key in keys]

    def pending_effects(self, created_before: datetime) -> list[OutboxRow]:
        _check_aware(created_before)
        return [replace(r) for _, r in sorted(self._outbox.items()) if r.created_at < created_before]

    def effects_delivered(self, keys: list[tuple[int, int]]) -> None:
        for key in keys:
            self._outbox.pop(key, None)

    def claim_mark(self, key: str, at: datetime) -> bool:
        _check_aware(at)
        if key in self._marks:
            return False
        self._marks[key] = at
        return True

    def close(self) -> None:
        pass

    def _sorted_deals(self, deals: Iterable[DealRow]) -> list[DealRow]:
        return [_copy_deal(d) for d in sorted(deals, key=lambda d: (d.created_at, d.id))]

    def _validate(self, changes: list[Changeset]) -> None:
        """Everything the SQL schema would refuse, checked before anything is applied."""
        new_deals: set[str] = set()
        for cs in changes:
            for deal in cs.deals:
                _check_deal(deal)
                new_deals.add(deal.id)

        def known_deal(deal_id: str) -> bool:
            return deal_id in new_deals or deal_id in self._deals

        for cs in changes:
            for chat in cs.chats:
                if chat.deal_id is not None and not known_deal(chat.deal_id):
                    raise ValueError(f"chat {chat.chat_key!r} bound to unknown deal {chat.deal_id!r}")
            for entry in cs.entries_added:
                if not known_deal(entry.deal_id):
                    raise ValueError(f"entry {entry.id} of unknown deal {entry.deal_id!r}")
            if cs.message:
                _check_aware(cs.message.ts)
            for row in cs.outbox:
                _check_aware(row.created_at)
        _new_keys(self._messages, (cs.message.seq for cs in changes if cs.message), "message seq")
        line_ids = _new_keys(self._lines, (r.id for cs in changes for r in cs.lines_added), "line id")
        entry_ids = _new_keys(self._entries, (r.id for cs in changes for r in cs.entries_added), "entry id")
        _known(line_ids, self._lines, (r.id for cs in changes for r in cs.lines_updated), "lines")
        _known(entry_ids, self._entries, (r.id for cs in changes for r in cs.entries_updated), "entries")
        _new_keys(self._processed, (p for cs in changes for p in cs.processed), "processed delivery")
        _new_keys(self._outbox, ((r.seq, r.n) for cs in changes for r in cs.outbox), "outbox key")

    def _apply(self, cs: Changeset) -> None:
        for deal in cs.deals:
            cutoff = None if deal.cutoff is None else _utc(deal.cutoff)
            self._deals[deal.id] = _copy_deal(deal, created_at=_utc(deal.created_at), cutoff=cutoff)
        for chat in cs.chats:
            self._chats[chat.chat_key] = replace(chat)
        if cs.message:
            self._messages[cs.message.seq] = replace(cs.message, ts=_utc(cs.message.ts))
        for line in cs.lines_added:
            self._lines[line.id] = replace(line)
        for entry in cs.entries_added:
            self._entries[entry.id] = replace(entry)
        for line in cs.lines_updated:
            self._lines[line.id] = replace(self._lines[line.id], alive=line.alive, replaced_by=line.replaced_by)
        for entry in cs.entries_updated:
            self._entries[entry.id] = replace(
                self._entries[entry.id], superseded_seq=entry.superseded_seq, removed=entry.removed
            )
        self._notices.extend(replace(n) for n in cs.notices)
        self._processed.update(cs.processed)
        for row in cs.outbox:
            self._outbox[(row.seq, row.n)] = replace(row, created_at=_utc(row.created_at))


def _copy_deal(deal: DealRow, **changes: Any) -> DealRow:
    items = sorted(deal.items, key=lambda i: (i.position, i.code))
    copies = [replace(i, aliases=tuple(i.aliases), price=i.price.quantize(_CENT)) for i in items]
    return replace(deal, items=copies, **changes)


def _utc(value: datetime) -> datetime:
    """Aware datetimes come back in UTC, as from the SQL store."""
    return value.astimezone(UTC)


def _check_deal(deal: DealRow) -> None:
    _check_aware(deal.created_at)
    if deal.cutoff is not None:
        _check_aware(deal.cutoff)
    codes = [i.code for i in deal.items]
    if len(codes) != len(set(codes)):
        raise ValueError(f"deal {deal.id!r}: duplicate item codes")
    for item in deal.items:
        _check_price(item)


def _check_price(item: ItemRow) -> None:
    price = item.price
    if not isinstance(price, Decimal) or not price.is_finite() or abs(price) >= _MAX_PRICE:
        raise ValueError(f"item {item.code!r}: price {price!r} does not fit Numeric(12,2)")
    if price != price.quantize(_CENT):
        raise ValueError(f"item {item.code!r}: price {price} has more than 2 decimal places")


def _check_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes")


def _new_keys(existing: Container[K], keys: Iterable[K], what: str) -> set[K]:
    seen: set[K] = set()
    for key in keys:
        if key in existing or key in seen:
            raise ValueError(f"duplicate {what} {key!r}")
        seen.add(key)
    return seen


def _known(added: set[int], existing: Container[int], updated: Iterable[int], what: str) -> None:
    unknown = sorted({i for i in updated if i not in added and i not in existing})
    if unknown:
        raise KeyError(f"update of unknown {what} ids: {unknown[:20]}")
