"""In-memory live state of open deals and their chats, rebuilt from the store on start."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.catalog import Catalog, Item
from bot.engine.listing import body_key
from bot.ports import ChatRow, DealRow, EntryRow, LineRow, Snapshot

EDIT_REMOVED = 0  # LineRow.replaced_by for a line whose message was edited: no longer seen


def catalog_of_row(row: DealRow) -> Catalog:
    items = tuple(
        Item(code=i.code, name=i.name, unit=i.unit, price=i.price, aliases=tuple(i.aliases), stock=i.stock)
        for i in sorted(row.items, key=lambda i: i.position)
    )
    return Catalog(items=items, cutoff=row.cutoff, max_qty=row.max_qty, title=row.title)


@dataclass(slots=True)
class MessageInfo:
    seq: int
    sender_id: str


@dataclass
class DealState:
    row: DealRow
    catalog: Catalog
    entries: dict[int, EntryRow] = field(default_factory=dict)
    by_key: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_entry(self, e: EntryRow) -> None:
        self.entries[e.id] = e
        self.by_key[(e.chat_key, e.sender_id, e.item_code)].append(e.id)
        if active(e):
            self.totals[e.item_code] += e.qty

    def set_active(self, e: EntryRow, *, superseded_seq: int | None, removed: bool) -> None:
        was = active(e)
        e.superseded_seq = superseded_seq
        e.removed = removed
        now = active(e)
        if was and not now:
            self.totals[e.item_code] -= e.qty
        elif now and not was:
            self.totals[e.item_code] += e.qty

    def sender_total(self, chat_key: str, sender_id: str, item: str) -> int:
        return sum(self.entries[i].qty for i in self.by_key.get((chat_key, sender_id, item), ()) if active(self.entries[i]))

    def active_of(self, chat_key: str, sender_id: str, item: str) -> list[EntryRow]:
        return [self.entries[i] for i in self.by_key.get((chat_key, sender_id, item), ()) if active(self.entries[i])]


def active(e: EntryRow) -> bool:
    return not e.removed and e.superseded_seq is None


@dataclass
class ChatState:
    row: ChatRow
    lines: dict[int, LineRow] = field(default_factory=dict)
    by_text: dict[str, LineRow] = field(default_factory=dict)
    by_body: dict[str, LineRow] = field(default_factory=dict)
    by_num_label: dict[tuple[str, str], LineRow] = field(default_factory=dict)
    messages: dict[str, MessageInfo] = field(default_factory=dict)
    # (sender, item) -> seq of the last message that touched it (for withdrawals of changes)
    last_touch: dict[tuple[str, str], int] = field(default_factory=dict)
    entries_by_msg: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    superseded_by_seq: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    lines_by_msg: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def bind(self, deal_id: str) -> None:
        """The chat joins another deal (a new round): nothing posted before it counts as seen."""
        if self.row.deal_id != deal_id:
            self.row.deal_id = deal_id
            self.by_text.clear()
            self.by_body.clear()
            self.by_num_label.clear()

    def index_line(self, ln: LineRow) -> None:
        self.lines[ln.id] = ln
        self.lines_by_msg[ln.message_id].append(ln.id)
        if ln.replaced_by == EDIT_REMOVED or ln.deal_id != self.row.deal_id:
            return
        self.by_text.setdefault(ln.text_key, ln)
        body = body_key(ln.text_key)
        if body.strip():
            self.by_body.setdefault(body, ln)
        if ln.number is not None and ln.label and ln.replaced_by is None and ln.owner_id != "":
            self.by_num_label[(ln.number, ln.label)] = ln

    def unindex_line(self, ln: LineRow) -> None:
        if self.by_text.get(ln.text_key) is ln:
            del self.by_text[ln.text_key]
        body = body_key(ln.text_key)
        if self.by_body.get(body) is ln:
            del self.by_body[body]
        if ln.number is not None and self.by_num_label.get((ln.number, ln.label)) is ln:
            del self.by_num_label[(ln.number, ln.label)]


class LiveState:
    """Open deals and the chats bound to them."""

    def __init__(self) -> None:
        self.deals: dict[str, DealState] = {}
        self.closed: dict[str, DealRow] = {}
        self.chats: dict[str, ChatState] = {}
        self.next_seq = 1
        self.next_entry_id = 1
        self.next_line_id = 1

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> LiveState:
        st = cls()
        for d in snap.deals:
            if d.status == "open":
                st.deals[d.id] = DealState(d, catalog_of_row(d))
            else:
                st.closed[d.id] = d
        for c in snap.chats:
            st.chats[c.chat_key] = ChatState(c)
        for m in sorted(snap.messages, key=lambda m: m.seq):
            ch = st.chats.get(m.chat_key)
            if ch is not None:
                ch.messages[m.message_id] = MessageInfo(m.seq, m.sender_id)
        for e in sorted(snap.entries, key=lambda e: e.id):
            ds = st.deals.get(e.deal_id)
            if ds is None:
                continue
            ds.add_entry(e)
            ch = st.chats.get(e.chat_key)
            if ch is not None:
                ch.entries_by_msg[e.message_id].append(e.id)
                if e.superseded_seq is not None:
                    ch.superseded_by_seq[e.superseded_seq].append(e.id)
                touch = max(e.seq, e.superseded_seq or 0)
                key = (e.sender_id, e.item_code)
                ch.last_touch[key] = max(ch.last_touch.get(key, 0), touch)
        for ln in sorted(snap.lines, key=lambda ln: ln.id):
            ch = st.chats.get(ln.chat_key)
            if ch is not None:
                ch.index_line(ln)
        st.next_seq, st.next_entry_id, st.next_line_id = snap.next_seq, snap.next_entry_id, snap.next_line_id
        return st
