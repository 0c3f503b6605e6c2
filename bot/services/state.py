"""In-memory live state of open deals and their chats, rebuilt from the store on start."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.catalog import MAX_LINE_QTY, Catalog, Item
from bot.engine.listing import body_key
from bot.ports import ASK_KIND, ChatRow, DealRow, EntryRow, LineRow, MessageRow, Snapshot
from bot.services.questions import Question, question_from_text


def catalog_of_row(row: DealRow) -> Catalog:
    items = tuple(
        Item(code=i.code, name=i.name, unit=i.unit, price=i.price, aliases=tuple(i.aliases), stock=i.stock)
        for i in sorted(row.items, key=lambda i: i.position)
    )
    return Catalog(items=items, cutoff=row.cutoff, max_qty=row.max_qty, title=row.title,
                   max_line_qty=row.max_line_qty if row.max_line_qty is not None else MAX_LINE_QTY)


@dataclass(slots=True)
class MessageInfo:
    seq: int
    sender_id: str
    edit_of: str | None = None


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

    def last_touch(self, chat_key: str, sender_id: str, item: str) -> int:
        """Seq of the sender's last message that made or superseded a row of ``item`` (0: none).

        Derived from the rows alone, so the live state and one reloaded from the store agree. A
        withdrawn or edited message no longer counts (its rows are removed; a supersession it made
        is undone with it), but a later message that superseded its rows does; a withdrawal's
        floor at 0 (a supersession, :meth:`Work.change`) is a touch too.
        """
        rows = (self.entries[i] for i in self.by_key.get((chat_key, sender_id, item), ()))
        return max((max(0 if e.removed else e.seq, e.superseded_seq or 0) for e in rows), default=0)

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
    entries_by_msg: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    superseded_by_seq: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    lines_by_msg: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # sender -> the item-less change the bot asked about (§3.6), until the sender's next message
    questions: dict[str, Question] = field(default_factory=dict)

    def bind(self, deal_id: str) -> None:
        """The chat joins another deal (a new round): nothing posted before it counts as seen."""
        if self.row.deal_id != deal_id:
            self.row.deal_id = deal_id
            self.by_text.clear()
            self.by_body.clear()
            self.by_num_label.clear()

    def index_line(self, ln: LineRow, *, over: str | None = None) -> None:
        """Index a line; ``over``: a message this one edits, whose lines it takes over in the index."""
        self.lines[ln.id] = ln
        self.lines_by_msg[ln.message_id].append(ln.id)
        if ln.deal_id != self.row.deal_id:
            return
        body = body_key(ln.text_key)
        for index, key in ((self.by_text, ln.text_key), (self.by_body, body)):
            if not key.strip():
                continue
            old = index.setdefault(key, ln)
            if old is not ln and over is not None and old.message_id == over:
                index[key] = ln
        if _current(ln):
            self.by_num_label[(ln.number, ln.label)] = ln  # type: ignore[index]

    def reindex_num_label(self, number: str, label: str) -> None:
        """Point (number, label) at its latest current line again (one was withdrawn or replaced).

        The same rule as :meth:`index_line` over the lines in id order, so a reloaded state agrees.
        """
        found = [ln for ln in self.lines.values()
                 if ln.number == number and ln.label == label and ln.deal_id == self.row.deal_id and _current(ln)]
        if found:
            self.by_num_label[(number, label)] = max(found, key=lambda ln: ln.id)
        else:
            self.by_num_label.pop((number, label), None)

    def versions(self, number: str, label: str, owner: str) -> set[int]:
        """Ids of every line of ``owner`` with this number and label in the chat's deal (§3.3: one line)."""
        return {ln.id for ln in self.lines.values()
                if ln.number == number and ln.label == label and ln.owner_id == owner and ln.deal_id == self.row.deal_id}


def _current(ln: LineRow) -> bool:
    """A line that stands for its number and label: alive, not replaced, someone's (§3.3)."""
    return ln.number is not None and bool(ln.label) and ln.alive and ln.replaced_by is None and ln.owner_id != ""


class NotPostedBy:
    """A seen-lines index less the lines one message posted: an edit reads its original's lines anew."""

    __slots__ = ("index", "message_id")

    def __init__(self, index: dict[str, LineRow], message_id: str) -> None:
        self.index, self.message_id = index, message_id

    def __contains__(self, key: object) -> bool:
        ln = self.index.get(key)  # type: ignore[call-overload]
        return ln is not None and ln.message_id != self.message_id


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
        last: dict[tuple[str, str], MessageRow] = {}
        for m in sorted(snap.messages, key=lambda m: m.seq):
            ch = st.chats.get(m.chat_key)
            if ch is not None:
                ch.messages[m.message_id] = MessageInfo(m.seq, m.sender_id, m.edit_of)
                last[(m.chat_key, m.sender_id)] = m
        for (ck, sid), m in last.items():  # a question is open while its message is the sender's last
            ds = st.deals.get(st.chats[ck].row.deal_id or "")
            if m.kind == ASK_KIND and ds is not None:
                q = question_from_text(m.text, ds.catalog, m.message_id, m.ts)
                if q is not None:
                    st.chats[ck].questions[sid] = q
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
        for ln in sorted(snap.lines, key=lambda ln: ln.id):
            ch = st.chats.get(ln.chat_key)
            if ch is not None:
                info = ch.messages.get(ln.message_id)
                ch.index_line(ln, over=info.edit_of if info is not None else None)
        st.next_seq, st.next_entry_id, st.next_line_id = snap.next_seq, snap.next_entry_id, snap.next_line_id
        return st
